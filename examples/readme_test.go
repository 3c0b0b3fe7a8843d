package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeCodeCompiles checks that every ```go block of the repository's
// README.md is, verbatim, the whole main.go of one directory under readme/,
// and that every such file is in the README. go vet and go test build those
// programs, so a README example that does not compile fails the build.
func TestReadmeCodeCompiles(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go block")
	}

	files, err := filepath.Glob(filepath.Join("readme", "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	mirrors := make(map[string]string) // content -> file
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mirrors[string(b)] = f
	}

	used := make(map[string]bool)
	for i, b := range blocks {
		f, ok := mirrors[b.code]
		if !ok {
			t.Errorf("README.md line %d: go block %d is not the whole of any readme/*/main.go; copy it there verbatim so that it is compiled:\n%s", b.line, i+1, b.code)
			continue
		}
		used[f] = true
	}
	for _, f := range files {
		if !used[f] {
			t.Errorf("%s is not a go block of README.md any more: update or delete it", f)
		}
	}
}

type block struct {
	line int // of the opening fence
	code string
}

// goBlocks returns the contents of the ```go fenced blocks of a markdown
// text, each ending with a newline.
func goBlocks(md string) []block {
	var (
		blocks []block
		cur    *block
		body   strings.Builder
	)
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &block{line: i + 1}
			body.Reset()
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.code = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line)
			body.WriteByte('\n')
		}
	}
	return blocks
}
