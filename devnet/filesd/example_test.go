package filesd_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/sessiongo/sdk/devnet/filesd"
)

// Start a file server, upload a file with a one-hour TTL and download it again, directly over
// HTTP. Clients normally go through an onion path instead: give onion.Transport.Do the
// server's OnionServer(). (With content IDs, so that the ID printed is always the same; the
// default is random numeric IDs, as on the official server.)
func ExampleStart() {
	fs, err := filesd.Start(context.Background(), filesd.WithContentIDs())
	if err != nil {
		log.Fatal(err)
	}
	defer fs.Close()

	req, _ := http.NewRequest("POST", fs.URL()+"/file", strings.NewReader("hello"))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set(filesd.HeaderTTL, "3600")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	var up struct {
		ID string `json:"id"`
	}
	err = json.NewDecoder(resp.Body).Decode(&up)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("id:", up.ID)

	resp, err = http.Get(fs.FileURL(up.ID))
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// id: tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB
	// 200 hello
}
