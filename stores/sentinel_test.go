package stores

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

const envRedisServerBin = "SESSIONKIT_REDIS_SERVER_BIN"

// startSentinel runs a Redis Sentinel on a free port that monitors the test
// redis-server as master "mymaster", and returns its address.
func startSentinel(t *testing.T) string {
	t.Helper()
	bin := requireEnv(t, envRedisServerBin, "the redis-server binary")
	master, port, err := net.SplitHostPort(redisAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	_, sport, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	text := fmt.Sprintf("bind 127.0.0.1\nport %s\ndir %s\nsentinel monitor mymaster %s %s 1\n", sport, dir, master, port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, conf, "--sentinel")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("sentinel did not start on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOpenSentinel opens a failover client through a Sentinel, by Config
// and by URL, and checks that Close leaves no goroutine behind.
func TestOpenSentinel(t *testing.T) {
	sentinel := startSentinel(t)
	base := settle(runtime.NumGoroutine())
	for _, open := range []func() (string, Config){
		func() (string, Config) {
			return "config", Config{Backend: "redis", Redis: RedisConfig{Addrs: []string{sentinel}, MasterName: "mymaster", KeyPrefix: uniquePrefix()}}
		},
		func() (string, Config) {
			cfg, err := ParseURL("redis://" + sentinel + "/0?master_name=mymaster&prefix=" + uniquePrefix())
			if err != nil {
				t.Fatal(err)
			}
			return "url", cfg
		},
	} {
		name, cfg := open()
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		roundTrip(t, s)
		closeStore(t, s)
	}
	if n := settle(base); n > base {
		t.Errorf("%d goroutines after closing the failover stores, %d before", n, base)
	}
	cfg := Config{Backend: "redis", Redis: RedisConfig{Addrs: []string{sentinel}, MasterName: "nosuchmaster"}}
	if s, err := Open(t.Context(), cfg); err == nil {
		s.(interface{ Close() error }).Close()
		t.Error("Open with an unknown master name succeeded")
	}
}
