// Package servers starts, kills, pauses and restarts real redis-server,
// memcached, PostgreSQL and MariaDB processes for the hardening tests, on free ports of 127.0.0.1.
// Every process it starts is killed by the test's Cleanup.
package servers

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables set by scripts/test.sh.
const (
	RedisAddrEnv      = "SESSIONKIT_REDIS_ADDR"
	MemcacheAddrEnv   = "SESSIONKIT_MEMCACHE_ADDR"
	RedisServerBinEnv = "SESSIONKIT_REDIS_SERVER_BIN"
	MemcachedBinEnv   = "SESSIONKIT_MEMCACHED_BIN"
	PostgresURLEnv    = "SESSIONKIT_POSTGRES_URL"
	MySQLDSNEnv       = "SESSIONKIT_MYSQL_DSN"
	PostgresBinEnv    = "SESSIONKIT_POSTGRES_BIN" // the directory of initdb and postgres
	MariaDBBinEnv     = "SESSIONKIT_MARIADB_BIN"  // mariadbd
)

// Env returns the environment variable name, and fails tb naming it when it
// is unset: the hardening tests never skip for want of a server.
func Env(tb testing.TB, name string) string {
	tb.Helper()
	v := os.Getenv(name)
	if v == "" {
		tb.Fatalf("environment variable %s is not set: run the tests through scripts/test.sh (or scripts/load.sh), which starts the servers and exports it", name)
	}
	return v
}

// FreePort returns a TCP port of 127.0.0.1 that nothing listened on a
// moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proc is one server process that can be killed, paused and restarted on
// the same address with the same arguments. Its methods must be called
// from one goroutine at a time.
type Proc struct {
	tb    testing.TB
	name  string
	bin   string
	args  []string
	ready func(addr string) error
	log   string              // file the server logs to, shown when it fails to start
	cred  *syscall.Credential // the user to run as, nil for the test's own
	quit  syscall.Signal      // what the test's Cleanup stops it with, SIGKILL when zero

	// Addr is the server's host:port on 127.0.0.1.
	Addr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	out    bytes.Buffer
}

// StartRedis starts bin (a redis-server) on a free port of 127.0.0.1 with
// dir as its working directory (AOF and RDB files), and extra arguments
// such as "--appendonly", "yes". It returns once the server answers PING.
func StartRedis(tb testing.TB, bin, dir string, extra ...string) *Proc {
	tb.Helper()
	port := FreePort(tb)
	logFile := filepath.Join(dir, "redis.log")
	args := []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "",
		"--dir", dir, "--logfile", logFile, "--daemonize", "no"}
	args = append(args, extra...)
	p := &Proc{tb: tb, name: "redis-server", bin: bin, args: args, ready: redisReady, log: logFile,
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	p.start()
	tb.Cleanup(p.cleanup)
	return p
}

// StartMemcached starts bin (a memcached) on a free port of 127.0.0.1 and
// returns once it answers "version".
func StartMemcached(tb testing.TB, bin string) *Proc {
	tb.Helper()
	port := FreePort(tb)
	args := []string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	p := &Proc{tb: tb, name: "memcached", bin: bin, args: args, ready: memcachedReady,
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	p.start()
	tb.Cleanup(p.cleanup)
	return p
}

func (p *Proc) start() {
	p.tb.Helper()
	cmd := exec.Command(p.bin, p.args...)
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	p.mu.Lock()
	p.out.Reset()
	cmd.Stdout, cmd.Stderr = &lockedWriter{p: p}, &lockedWriter{p: p}
	p.mu.Unlock()
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	p.cmd, p.exited = cmd, exited
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := p.ready(p.Addr)
		if err == nil {
			return
		}
		select {
		case <-exited:
			p.tb.Fatalf("%s %s exited at start: %s%s", p.name, strings.Join(p.args, " "), p.output(), p.logTail())
		default:
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("%s on %s not ready after 10s: %v%s", p.name, p.Addr, err, p.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type lockedWriter struct{ p *Proc }

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(b)
}

func (p *Proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *Proc) logTail() string {
	if p.log == "" {
		return ""
	}
	b, err := os.ReadFile(p.log)
	if err != nil {
		return ""
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return "\n" + p.log + ":\n" + string(b)
}

// Running reports whether the process is alive (possibly stopped).
func (p *Proc) Running() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to exit.
func (p *Proc) Kill() {
	p.tb.Helper()
	if !p.Running() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.tb.Fatalf("kill %s: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.tb.Fatalf("%s did not exit 10s after SIGKILL", p.name)
	}
}

// Stop sends sig (SIGQUIT: PostgreSQL's immediate shutdown) and waits for
// the process to exit.
func (p *Proc) Stop(sig syscall.Signal) {
	p.tb.Helper()
	if !p.Running() {
		return
	}
	p.signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		p.tb.Fatalf("%s did not exit 20s after %v", p.name, sig)
	}
}

// Restart starts the server again with the same address and arguments;
// the process must have exited (see Kill).
func (p *Proc) Restart() {
	p.tb.Helper()
	if p.Running() {
		p.tb.Fatalf("Restart: %s is still running", p.name)
	}
	p.start()
}

// Pause stops the process with SIGSTOP: it keeps its sockets, the kernel
// still accepts connections, but nothing is answered.
func (p *Proc) Pause() { p.signal(syscall.SIGSTOP) }

// Resume continues a paused process with SIGCONT.
func (p *Proc) Resume() { p.signal(syscall.SIGCONT) }

func (p *Proc) signal(sig syscall.Signal) {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

func (p *Proc) cleanup() {
	if !p.Running() {
		return
	}
	sig := p.quit
	if sig == 0 {
		sig = syscall.SIGKILL
	}
	_ = p.cmd.Process.Signal(sig)
	<-p.exited
}

func redisReady(addr string) error {
	return ask(addr, "PING\r\n", "+PONG")
}

func memcachedReady(addr string) error {
	return ask(addr, "version\r\n", "VERSION ")
}

// ask sends req and checks that the first line of the answer starts with
// want.
func ask(addr, req, want string) error {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err := c.Write([]byte(req)); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, want) {
		return fmt.Errorf("answer %q, want %q", strings.TrimSpace(line), want)
	}
	return nil
}
