// Package demotest checks the demo app's security properties on each
// framework, in process: every check builds an [demo.App], serves it
// through the framework's real server and handler on a loopback port, and
// talks to it with an http.Client (with a cookie jar where a browser would
// keep cookies).
//
// Each app's test is one line:
//
//	func TestSecurity(t *testing.T) { demotest.Run(t, framework, serveApp) }
package demotest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
	"github.com/sessionkit/sessionkit/stores"
)

// Run runs every check against the app that serve runs for framework.
func Run(t *testing.T, framework string, serve demo.Serve) {
	h := harness{framework: framework, serve: serve}
	t.Run("AnonymousFloodWritesNothing", h.anonymousFloodWritesNothing)
	t.Run("AnonymousFloodKeepsUsers", h.anonymousFloodKeepsUsers)
	t.Run("LoginWithCSRFCookie", h.loginWithCSRFCookie)
	t.Run("CSRFRefused", h.csrfRefused)
	t.Run("SecureCookies", h.secureCookies)
	t.Run("NoStoreWhenLoggedIn", h.noStoreWhenLoggedIn)
	t.Run("StoreFailureLogged", h.storeFailureLogged)
	t.Run("LargeBodyRefused", h.largeBodyRefused)
	t.Run("Devices", h.devices)
}

type harness struct {
	framework string
	serve     demo.Serve
}

// app is one running app.
type app struct {
	url   string // http://127.0.0.1:port
	store core.Store
	log   *SyncBuffer
}

// start serves an app with cfg (a memory store and a log buffer unless cfg
// says otherwise) until the test ends.
func (h harness) start(t *testing.T, cfg demo.Config) *app {
	t.Helper()
	if cfg.Store == nil {
		ms := memstore.New()
		t.Cleanup(func() { ms.Close() })
		cfg.Store = ms
	}
	buf := new(SyncBuffer)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(buf, nil))
	}
	cfg.Framework = h.framework
	a, err := demo.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.serve(ctx, ln, a) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return &app{url: "http://" + ln.Addr().String(), store: cfg.Store, log: buf}
}

// sqlite opens a SQLite store in a temporary directory, the demo's default.
func sqlite(t *testing.T) core.Store {
	t.Helper()
	s, err := stores.OpenURL(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(io.Closer).Close() })
	return s
}

// count returns the number of records in the app's store.
func (a *app) count(t *testing.T) int {
	t.Helper()
	cs, ok := a.store.(core.CountStore)
	if !ok {
		t.Fatalf("%T cannot count its records", a.store)
	}
	n, err := cs.Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// browser returns a client with a cookie jar that does not follow
// redirects, so that each response can be checked.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// response is a response read whole.
type response struct {
	*http.Response
	body string
}

// do sends req and reads the whole response.
func do(t *testing.T, c *http.Client, req *http.Request) response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (a *app) get(t *testing.T, c *http.Client, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, c, req)
}

// post posts form to path, with extra cookies added by hand (on top of
// the client's jar).
func (a *app) post(t *testing.T, c *http.Client, path string, form url.Values, cookies ...*http.Cookie) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, a.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	return do(t, c, req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// token returns the CSRF token of the page's first form.
func token(t *testing.T, page response) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no CSRF field on the page (status %d):\n%s", page.StatusCode, page.body)
	}
	return m[1]
}

// login logs c in as user through the login form and checks that the app
// sends it home.
func (a *app) login(t *testing.T, c *http.Client, user string) {
	t.Helper()
	a.loginWith(t, c, user, false)
}

// loginWith is login with remember-me on or off.
func (a *app) loginWith(t *testing.T, c *http.Client, user string, remember bool) {
	t.Helper()
	form := a.get(t, c, "/login")
	v := url.Values{"username": {user}, "password": {"password"}, "csrf": {token(t, form)}}
	if remember {
		v.Set("remember", "on")
	}
	res := a.post(t, c, "/login", v)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("login as %s: %d to %q, want 303 to /; body:\n%s", user, res.StatusCode, res.Header.Get("Location"), res.body)
	}
	if home := a.get(t, c, "/"); home.StatusCode != http.StatusOK || !strings.Contains(home.body, `id="user">`+user+`<`) {
		t.Fatalf("after login / is %d, not the home page of %s:\n%s", home.StatusCode, user, home.body)
	}
}

// loggedIn reports whether c's session is logged in.
func (a *app) loggedIn(t *testing.T, c *http.Client) bool {
	t.Helper()
	return a.get(t, c, "/").StatusCode == http.StatusOK
}

// cookie returns the response's Set-Cookie of that name, or nil.
func cookie(res response, name string) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// setCookieLine returns the raw Set-Cookie line of that name, or "".
func setCookieLine(res response, name string) string {
	for _, l := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(l, name+"=") {
			return l
		}
	}
	return ""
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers and readers:
// what a test reads a server's log or a process's output with.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
