package session

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Event documentation lists every event type, and only event types: it is where go doc
// shows the whole vocabulary in one place.
func TestEventDocListsEveryEvent(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	var events []string
	doc := ""
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Name.Name == "isEvent" && d.Recv != nil {
					star := d.Recv.List[0].Type.(*ast.StarExpr)
					events = append(events, star.X.(*ast.Ident).Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok && ts.Name.Name == "Event" && d.Doc != nil {
						doc = d.Doc.Text()
					}
				}
			}
		}
	}
	if doc == "" || len(events) < 20 {
		t.Fatalf("found %d events, doc %q", len(events), doc)
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`\*([A-Z][A-Za-z]+)`).FindAllStringSubmatch(doc, -1) {
		listed[m[1]] = true
		if !slices.Contains(events, m[1]) {
			t.Errorf("the Event doc lists %s, which is not an event", m[1])
		}
	}
	for _, e := range events {
		if !listed[e] {
			t.Errorf("event %s is missing from the Event doc", e)
		}
	}
}

// Picture keys never show in logs or JSON.
func TestPictureKeysRedacted(t *testing.T) {
	key := SecretBytes(bytes.Repeat([]byte{0xab}, 32))
	p := &Profile{DisplayName: "x", PictureURL: "https://f.example/file/1", PictureKey: key}
	g := Group{PictureKey: key}
	j, err := json.Marshal(struct {
		P *Profile
		G Group
	}{p, g})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %x %s %q", p, p, p, p, p, p), fmt.Sprintf("%v %+v %#v", g, g, g), string(j)} {
		if strings.Contains(strings.ToLower(s), "abab") || strings.Contains(s, "171, 171") || strings.Contains(s, "q6ur") {
			t.Fatalf("key leaked: %s", s)
		}
	}
	if len(p.PictureKey) != 32 || [32]byte(p.PictureKey)[0] != 0xab {
		t.Fatal("the key itself is still usable")
	}
}
