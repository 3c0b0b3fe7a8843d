package demotest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/examples/internal/demo"
)

// floodSize is how many anonymous requests a flood sends.
const floodSize = 5000

// flood sends n cookieless GET /login from a few connections at once and
// checks that each gets the login form.
func (a *app) flood(t *testing.T, n int) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second} // no jar: every request is a new visitor
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				resp, err := c.Get(a.url + "/login")
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET /login: status %d, want 200", resp.StatusCode)
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// anonymousFloodWritesNothing: a flood of cookieless login pages leaves the
// default SQLite store empty (it used to write one session per request,
// for the CSRF token).
func (h harness) anonymousFloodWritesNothing(t *testing.T) {
	a := h.start(t, demo.Config{Store: sqlite(t)})
	a.flood(t, floodSize)
	if n := a.count(t); n != 0 {
		t.Errorf("after %d anonymous GET /login the store holds %d sessions, want 0", floodSize, n)
	}
	// The login page still carries a token, in a cookie the visitor keeps.
	res := a.get(t, browser(t), "/login")
	if token(t, res) == "" || cookie(res, "csrf") == nil {
		t.Errorf("the login page has no CSRF token or cookie; Set-Cookie: %q", res.Header.Values("Set-Cookie"))
	}
	if ck := cookie(res, core.DefaultCookieName); ck != nil {
		t.Errorf("an anonymous login page sets the session cookie %v", ck)
	}
}

// anonymousFloodKeepsUsers: with a bounded memory store, a flood cannot
// evict a logged-in user (it used to, evicting users first).
func (h harness) anonymousFloodKeepsUsers(t *testing.T) {
	ms := memstore.New(memstore.WithMaxEntries(10))
	t.Cleanup(func() { ms.Close() })
	a := h.start(t, demo.Config{Store: ms})
	alice := browser(t)
	a.login(t, alice, "alice")
	a.flood(t, floodSize)
	if n := a.count(t); n != 1 {
		t.Errorf("after the flood the store holds %d sessions, want alice's only", n)
	}
	if !a.loggedIn(t, alice) {
		t.Error("a flood of anonymous visitors logged alice out")
	}
}

// loginWithCSRFCookie: a browser logs in with the token of the login form
// and its cookie, and nothing is written before the login.
func (h harness) loginWithCSRFCookie(t *testing.T) {
	a := h.start(t, demo.Config{})
	c := browser(t)
	a.login(t, c, "alice")
	if n := a.count(t); n != 1 {
		t.Errorf("after one login the store holds %d sessions, want 1", n)
	}
	// Logged in, the session's token counts; logging out works with it.
	home := a.get(t, c, "/")
	res := a.post(t, c, "/logout", url.Values{"csrf": {token(t, home)}})
	if res.StatusCode != http.StatusSeeOther || a.loggedIn(t, c) {
		t.Errorf("logout with the page's token: %d, still logged in %v; want 303, logged out", res.StatusCode, a.loggedIn(t, c))
	}
}

// csrfRefused: a login without the right token, or with one that this
// server did not sign, or with the token in the URL only, is refused and
// writes nothing.
func (h harness) csrfRefused(t *testing.T) {
	a := h.start(t, demo.Config{})
	creds := func(csrf ...string) url.Values {
		v := url.Values{"username": {"mallory"}, "password": {"password"}}
		if len(csrf) > 0 {
			v.Set("csrf", csrf[0])
		}
		return v
	}
	// The attacker's own pair, from the server: valid, but not the victim's.
	attacker := browser(t)
	attackerToken := token(t, a.get(t, attacker, "/login"))

	for _, tc := range []struct {
		name string
		post func(c *http.Client, tok string) response
	}{
		{"Missing", func(c *http.Client, _ string) response { return a.post(t, c, "/login", creds()) }},
		{"Forged", func(c *http.Client, _ string) response { return a.post(t, c, "/login", creds("forged")) }},
		{"Mismatched", func(c *http.Client, _ string) response { return a.post(t, c, "/login", creds(attackerToken)) }},
		{"InQueryString", func(c *http.Client, tok string) response {
			return a.post(t, c, "/login?csrf="+url.QueryEscape(tok), creds())
		}},
		{"UnsignedCookie", func(*http.Client, string) response {
			// A naive double-submit check would take any cookie that
			// equals the form.
			return a.post(t, browser(t), "/login", creds("abc"), &http.Cookie{Name: "csrf", Value: "abc"})
		}},
		{"BadSignature", func(*http.Client, string) response {
			return a.post(t, browser(t), "/login", creds("abc"), &http.Cookie{Name: "csrf", Value: "abc.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
		}},
		{"NoCookie", func(*http.Client, string) response { return a.post(t, browser(t), "/login", creds(attackerToken)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := browser(t)
			tok := token(t, a.get(t, c, "/login")) // the victim has a valid cookie
			if res := tc.post(c, tok); res.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", res.StatusCode)
			}
			if a.loggedIn(t, c) {
				t.Error("the refused login logged the client in")
			}
			if n := a.count(t); n != 0 {
				t.Errorf("the store holds %d sessions, want 0", n)
			}
		})
	}
}

// secureCookies: with Secure, both cookies are Secure, Path=/, without
// Domain and named __Host-, so that no sibling domain can set them.
func (h harness) secureCookies(t *testing.T) {
	a := h.start(t, demo.Config{Secure: true})
	check := func(res response, name string) *http.Cookie {
		t.Helper()
		line := setCookieLine(res, name)
		ck := cookie(res, name)
		switch {
		case ck == nil:
			t.Fatalf("no %s cookie; Set-Cookie: %q", name, res.Header.Values("Set-Cookie"))
		case !ck.Secure || ck.Path != "/" || ck.Domain != "" || strings.Contains(strings.ToLower(line), "domain="):
			t.Errorf("Set-Cookie %q, want Secure, Path=/ and no Domain", line)
		}
		return ck
	}
	// The client's jar would not send Secure cookies over plain HTTP: the
	// test sends them by hand.
	c := browser(t)
	page := a.get(t, c, "/login")
	csrf := check(page, "__Host-csrf")
	res := a.post(t, c, "/login", url.Values{"username": {"alice"}, "password": {"password"}, "csrf": {token(t, page)}}, csrf)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303:\n%s", res.StatusCode, res.body)
	}
	check(res, "__Host-"+core.DefaultCookieName)
	for _, ck := range res.Cookies() {
		if !strings.HasPrefix(ck.Name, "__Host-") {
			t.Errorf("cookie %q without the __Host- prefix", ck.Name)
		}
	}
}

// noStoreWhenLoggedIn: no cache may keep a logged-in page.
func (h harness) noStoreWhenLoggedIn(t *testing.T) {
	a := h.start(t, demo.Config{})
	c := browser(t)
	a.login(t, c, "alice")
	for _, p := range []string{"/", "/code", "/devices", "/"} {
		res := a.get(t, c, p)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d", p, res.StatusCode)
		}
		if cc := res.Header.Values("Cache-Control"); len(cc) != 1 || cc[0] != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", p, cc)
		}
	}
}

// storeFailureLogged: a failing store is logged, naming the session by its
// hashed key, never by its ID.
func (h harness) storeFailureLogged(t *testing.T) {
	ms := memstore.New()
	t.Cleanup(func() { ms.Close() })
	fs := &faultStore{Store: ms}
	a := h.start(t, demo.Config{Store: fs})
	c := browser(t)
	a.login(t, c, "alice")
	u, _ := url.Parse(a.url)
	var id string
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == core.DefaultCookieName {
			id = ck.Value
		}
	}
	if id == "" {
		t.Fatal("no session cookie after login")
	}
	hashed := core.StoreKey(id)[:16] // what core's errors name

	for _, op := range []string{"load", "save"} {
		t.Run(op, func(t *testing.T) {
			before := len(a.log.String())
			fs.failing.Store(op)
			defer fs.failing.Store("")
			res := a.get(t, c, "/") // loads, then saves the visit counter
			if res.StatusCode != http.StatusInternalServerError {
				t.Errorf("GET / with a failing store: status %d, want 500", res.StatusCode)
			}
			logged := a.log.String()[before:]
			if !strings.Contains(logged, "injected "+op+" failure") {
				t.Errorf("the %s failure is not logged; log:\n%s", op, logged)
			}
			if !strings.Contains(logged, hashed) {
				t.Errorf("the log does not name the session by its hashed key %s:\n%s", hashed, logged)
			}
			if strings.Contains(logged, id) || strings.Contains(res.body, id) {
				t.Errorf("the raw session ID reached the log or the response:\n%s", logged)
			}
		})
	}
}

// faultStore fails the operation named in failing ("load" or "save") with
// an error that names the key it got, as real stores' errors may.
type faultStore struct {
	core.Store
	failing atomic.Value // string
}

func (s *faultStore) fail(op, key string) error {
	if v, _ := s.failing.Load().(string); v == op {
		return fmt.Errorf("faultstore: key %s: injected %s failure", key, op)
	}
	return nil
}

func (s *faultStore) Load(ctx context.Context, key string) ([]byte, bool, error) {
	if err := s.fail("load", key); err != nil {
		return nil, false, err
	}
	return s.Store.Load(ctx, key)
}

func (s *faultStore) Save(ctx context.Context, key string, data []byte, expiry time.Time) error {
	if err := s.fail("save", key); err != nil {
		return err
	}
	return s.Store.Save(ctx, key, data, expiry)
}

// largeBodyRefused: a 20 MB form is answered 413, not read into memory
// and not answered with the CSRF page.
func (h harness) largeBodyRefused(t *testing.T) {
	a := h.start(t, demo.Config{})
	c := browser(t)
	tok := token(t, a.get(t, c, "/login"))
	form := "csrf=" + tok + "&username=alice&password=password&pad=" + strings.Repeat("a", 20<<20)
	for _, path := range []string{"/login", "/devices/logout-others"} {
		for _, chunked := range []bool{false, true} {
			if status := a.postRaw(t, path, form, chunked); status != http.StatusRequestEntityTooLarge {
				t.Errorf("a 20 MB form to %s (chunked %v): status %d, want 413", path, chunked, status)
			}
		}
	}
	if n := a.count(t); n != 0 {
		t.Errorf("the store holds %d sessions after refused posts, want 0", n)
	}
}

// postRaw posts form to path on a connection of its own and returns the
// response's status. It reads the response while it still writes the
// body, as a browser does: a server that refuses a large body answers
// before reading it and may then reset the connection (fasthttp does),
// which makes http.Client report the failed write instead of the answer.
func (a *app) postRaw(t *testing.T, path, form string, chunked bool) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		framing := fmt.Sprintf("Content-Length: %d\r\n\r\n", len(form))
		if chunked {
			framing = "Transfer-Encoding: chunked\r\n\r\n"
		}
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n%s", path, conn.RemoteAddr(), framing)
		for rest := form; rest != ""; {
			n := min(len(rest), 32<<10)
			if chunked {
				fmt.Fprintf(w, "%x\r\n%s\r\n", n, rest[:n])
			} else {
				w.WriteString(rest[:n])
			}
			if w.Flush() != nil {
				return // the server has answered and closed
			}
			rest = rest[n:]
		}
		if chunked {
			w.WriteString("0\r\n\r\n")
		}
		w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("chunked %v: reading the response: %v", chunked, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
