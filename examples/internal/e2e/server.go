package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/examples/internal/demotest"
)

// Flags the apps run with: a short remember-me timeout whose cookie expiry
// the tests can predict, and a one-time code that expires within the test.
const (
	rememberTimeout = time.Hour
	otpTTL          = 2 * time.Second
)

// build compiles the example app in the current directory (the test's
// package directory) into a temporary directory and returns the binary.
// Under -race the app is built with -race too: it shares the compiled
// packages of the test binary, and races in the app fail the test.
func build(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "app")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, ".")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gobin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// server is one example app running as a separate process.
type server struct {
	bin   string
	addr  string // 127.0.0.1:port, the same across restarts
	store string // the store URL, the same across restarts

	cmd  *exec.Cmd
	out  *demotest.SyncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // cmd.Wait's result, set before done closes
}

// newServer starts bin on a free port with a fresh SQLite database.
func newServer(t *testing.T, bin string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{
		bin:   bin,
		addr:  addr,
		store: "sqlite://" + filepath.Join(t.TempDir(), "s.db"),
	}
	s.start(t)
	t.Cleanup(s.kill)
	return s
}

// url returns the absolute URL of path on the server.
func (s *server) url(path string) string { return "http://" + s.addr + path }

// start runs the app and waits for its "listening on" log line.
func (s *server) start(t *testing.T) {
	t.Helper()
	s.out = new(demotest.SyncBuffer)
	s.cmd = exec.Command(s.bin,
		"-addr", s.addr,
		"-store", s.store,
		"-remember", rememberTimeout.String(),
		"-otp-ttl", otpTTL.String(),
	)
	s.cmd.Env = append(os.Environ(), "SESSION_STORE=") // the flag decides
	s.cmd.Dir = filepath.Dir(s.bin)                    // nothing lands in the package directory
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	go func() {
		s.err = s.cmd.Wait()
		close(done)
	}()

	want := fmt.Sprintf("listening on http://%s (store %s)", s.addr, s.store)
	deadline := time.After(30 * time.Second)
	for !strings.Contains(s.out.String(), want) {
		select {
		case <-done:
			t.Fatalf("the app exited before listening (%v); want log line %q; output:\n%s", s.err, want, s.out)
		case <-deadline:
			t.Fatalf("the app did not log %q within 30 s; output:\n%s", want, s.out)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM and checks that the app shuts down gracefully: it
// exits with status 0 after logging "shutting down".
func (s *server) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("the app did not exit within 15 s of SIGTERM; output:\n%s", s.out)
	}
	if s.err != nil {
		t.Fatalf("the app exited with %v after SIGTERM; output:\n%s", s.err, s.out)
	}
	if !strings.Contains(s.out.String(), "shutting down") {
		t.Errorf("the app did not log %q on SIGTERM; output:\n%s", "shutting down", s.out)
	}
}

// restart stops the app and starts it again on the same port and database.
func (s *server) restart(t *testing.T) {
	t.Helper()
	s.stop(t)
	s.start(t)
}

// kill ends a process that is still running at the end of the test.
func (s *server) kill() {
	select {
	case <-s.done:
	default:
		s.cmd.Process.Kill()
		<-s.done
	}
}
