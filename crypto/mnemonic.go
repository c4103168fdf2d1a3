package crypto

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
)

// The Recovery Password is 13 words from a list of 1626 (Monero/Electrum style): three words per
// 4-byte little-endian group of the 16-byte seed, then a checksum word. Words are identified by
// their first three letters, which are unique in the list.

//go:embed wordlist_english.txt
var wordlistEnglish string

const (
	mnemonicWords     = 1626
	mnemonicPrefixLen = 3
	// MnemonicLength is the number of words in a Recovery Password.
	MnemonicLength = 13
)

type wordlist struct {
	words    []string
	byPrefix map[string]int
}

// The list is constant data parsed once; it holds no mutable state.
var loadWordlist = sync.OnceValue(func() *wordlist {
	words := strings.Fields(wordlistEnglish)
	if len(words) != mnemonicWords {
		panic(fmt.Sprintf("crypto: embedded word list has %d words, want %d", len(words), mnemonicWords))
	}
	wl := &wordlist{words: words, byPrefix: make(map[string]int, len(words))}
	for i, w := range words {
		wl.byPrefix[w[:mnemonicPrefixLen]] = i
	}
	return wl
})

// Errors of DecodeMnemonic; each comes wrapped with details, and unknown words as an
// *UnknownWordError.
var (
	ErrMnemonicLength   = errors.New("crypto: a Recovery Password has 13 words")
	ErrMnemonicWord     = errors.New("crypto: unknown word in Recovery Password")
	ErrMnemonicChecksum = errors.New("crypto: Recovery Password checksum word does not match (a word may be mistyped or out of order)")
	ErrMnemonicInvalid  = errors.New("crypto: words do not form a valid Recovery Password")
)

// UnknownWordError names a word that is not in the list. It matches ErrMnemonicWord.
type UnknownWordError struct {
	Position int // 1-based
	Word     string
}

func (e *UnknownWordError) Error() string {
	return fmt.Sprintf("crypto: word %d (%q) of the Recovery Password is not in the word list", e.Position, e.Word)
}

// Is matches ErrMnemonicWord.
func (e *UnknownWordError) Is(target error) bool { return target == ErrMnemonicWord }

// EncodeMnemonic returns the 13-word Recovery Password of a Session seed.
func EncodeMnemonic(seed [SessionSeedSize]byte) string {
	wl := loadWordlist()
	const n = mnemonicWords
	out := make([]string, 0, MnemonicLength)
	for i := 0; i < SessionSeedSize; i += 4 {
		x := binary.LittleEndian.Uint32(seed[i:])
		w1 := x % n
		w2 := (x/n + w1) % n
		w3 := (x/n/n + w2) % n
		out = append(out, wl.words[w1], wl.words[w2], wl.words[w3])
	}
	out = append(out, out[checksumIndex(out)])
	return strings.Join(out, " ")
}

func checksumIndex(words []string) int {
	var prefixes strings.Builder
	for _, w := range words {
		prefixes.WriteString(prefixOf(w))
	}
	return int(crc32.ChecksumIEEE([]byte(prefixes.String())) % uint32(len(words)))
}

func prefixOf(w string) string {
	if len(w) > mnemonicPrefixLen {
		return w[:mnemonicPrefixLen]
	}
	return w
}

// DecodeMnemonic returns the seed of a 13-word Recovery Password. It ignores case and extra
// white space, and matches each word by its first three letters as the Session apps do. Errors
// say what is wrong: ErrMnemonicLength, an *UnknownWordError (ErrMnemonicWord) with the word's
// position, ErrMnemonicChecksum or ErrMnemonicInvalid.
func DecodeMnemonic(phrase string) ([SessionSeedSize]byte, error) {
	var seed [SessionSeedSize]byte
	words := strings.Fields(strings.ToLower(phrase))
	if len(words) != MnemonicLength {
		hint := ""
		if len(words) == MnemonicLength-1 {
			hint = "; the last (checksum) word is missing"
		}
		return seed, fmt.Errorf("%w: got %d%s", ErrMnemonicLength, len(words), hint)
	}
	wl := loadWordlist()
	idx := make([]uint64, len(words))
	for i, w := range words {
		j, ok := wl.byPrefix[prefixOf(w)]
		if !ok || len(w) < mnemonicPrefixLen {
			return seed, &UnknownWordError{Position: i + 1, Word: shorten(w)}
		}
		idx[i] = uint64(j)
	}
	const n = mnemonicWords
	for g := 0; g < 4; g++ {
		w1, w2, w3 := idx[3*g], idx[3*g+1], idx[3*g+2]
		x := w1 + n*((n-w1+w2)%n) + n*n*((n-w2+w3)%n)
		if x%n != w1 || x >= 1<<32 {
			return [SessionSeedSize]byte{}, fmt.Errorf("%w: words %d to %d do not form a valid group", ErrMnemonicInvalid, 3*g+1, 3*g+3)
		}
		binary.LittleEndian.PutUint32(seed[4*g:], uint32(x))
	}
	want := words[checksumIndex(words[:MnemonicLength-1])]
	if prefixOf(want) != prefixOf(words[MnemonicLength-1]) {
		return [SessionSeedSize]byte{}, ErrMnemonicChecksum
	}
	return seed, nil
}
