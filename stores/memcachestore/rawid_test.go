package memcachestore_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/sessiontest"
	"github.com/sessionkit/sessionkit/stores/memcachestore"
)

// rawIDAddr returns the test memcached (SESSIONKIT_MEMCACHE_ADDR, set by
// scripts/test.sh).
func rawIDAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("SESSIONKIT_MEMCACHE_ADDR")
	if addr == "" {
		t.Fatal("SESSIONKIT_MEMCACHE_ADDR is not set: it must name a memcached as host:port (scripts/test.sh starts one and sets it)")
	}
	return addr
}

func rawIDStore(t *testing.T, opts ...memcachestore.Option) (*memcachestore.Store, *memcache.Client, string) {
	t.Helper()
	c := memcache.New(rawIDAddr(t))
	c.Timeout = 3 * time.Second
	t.Cleanup(func() { c.Close() })
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "rawid" + hex.EncodeToString(b) + ":"
	st, err := memcachestore.New(c, append([]memcachestore.Option{memcachestore.WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, c, prefix
}

// metadumpKeys lists the keys memcached holds that start with prefix, with
// "lru_crawler metadump all" (memcached cannot otherwise list its keys).
func metadumpKeys(t *testing.T, addr, prefix string) []string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(nc, "lru_crawler metadump all\r\n"); err != nil {
		t.Fatal(err)
	}
	var keys []string
	r := bufio.NewReader(nc)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("metadump: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "END":
			return keys
		case strings.HasPrefix(line, "ERROR"), strings.HasPrefix(line, "BUSY"), strings.HasPrefix(line, "CLIENT_ERROR"):
			t.Fatalf("metadump: %s", line)
		}
		f, _, _ := strings.Cut(line, " ")
		k, ok := strings.CutPrefix(f, "key=")
		if !ok {
			continue
		}
		if k, err = url.QueryUnescape(k); err != nil {
			t.Fatalf("metadump: key %q: %v", f, err)
		}
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
}

// TestNoRawIDAtRest lists the store's items with the LRU crawler and reads
// each one: no raw session ID in a key or a value.
func TestNoRawIDAtRest(t *testing.T) {
	t.Parallel()
	st, c, prefix := rawIDStore(t)
	addr := rawIDAddr(t)
	sessiontest.CheckNoRawID(t, st, func(t *testing.T) []string {
		var out []string
		var keys []string
		// The crawler may be busy with another client's dump: retry.
		for try := 0; ; try++ {
			keys = metadumpKeys(t, addr, prefix)
			if len(keys) > 0 || try == 20 {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, k := range keys {
			out = append(out, k)
			it, err := c.Get(k)
			if err == memcache.ErrCacheMiss {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(it.Value))
		}
		return out
	})
}

// TestTooLargeThroughManager checks memcached's 1 MiB item limit as an
// application meets it: a commit error matching core.ErrTooLarge that
// names the limit, and the previous data intact.
func TestTooLargeThroughManager(t *testing.T) {
	t.Parallel()
	st, _, _ := rawIDStore(t)
	sessiontest.CheckTooLarge(t, st, memcachestore.DefaultMaxItemSize, core.WithMaxSize(4<<20))
}
