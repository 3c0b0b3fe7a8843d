package sessiontest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"
)

// client is a browser-like HTTP client: a cookie jar, or in header-token
// mode a remembered token.
type client struct {
	t      *testing.T
	base   string
	hc     *http.Client
	header string // token header name in header mode
	token  string
}

type response struct {
	status int
	body   string
	header http.Header
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, base: base, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

// rawClient has no jar: the test sets the Cookie header itself.
func rawClient(t *testing.T, base string) *client {
	return &client{t: t, base: base, hc: &http.Client{Timeout: 10 * time.Second}}
}

func (c *client) get(path string, edit ...func(*http.Request)) response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.header != "" && c.token != "" {
		req.Header.Set(c.header, c.token)
	}
	for _, e := range edit {
		e(req)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("GET %s: read body: %v", path, err)
	}
	if c.header != "" {
		if v, ok := res.Header[http.CanonicalHeaderKey(c.header)]; ok {
			c.token = v[0]
		}
	}
	return response{status: res.StatusCode, body: string(body), header: res.Header}
}

// mustGet is get that also requires a 200 and the given body ("" for any).
func (c *client) mustGet(path, want string) response {
	c.t.Helper()
	r := c.get(path)
	if r.status != http.StatusOK {
		c.t.Fatalf("GET %s: status %d, body %q", path, r.status, r.body)
	}
	if want != "" && r.body != want {
		c.t.Fatalf("GET %s: body %q, want %q", path, r.body, want)
	}
	return r
}

// cookie returns the session cookie the jar holds, or "".
func (c *client) cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookies returns the parsed Set-Cookie headers of r named name.
func setCookies(t *testing.T, r response, name string) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q does not parse: %v", line, err)
		}
		if ck.Name == name {
			out = append(out, ck)
		}
	}
	return out
}

func withCookie(header string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Cookie", header) }
}
