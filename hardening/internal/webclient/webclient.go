// Package webclient is the HTTP side of the hardening tests: a user that
// carries one session cookie by hand (no jar, so every Set-Cookie is seen)
// and latency statistics.
package webclient

import (
	"io"
	"net/http"
	"slices"
	"time"
)

// NewHTTPClient returns a client whose transport keeps up to conns idle
// connections to one host, so a load run reuses its connections instead
// of exhausting ephemeral ports. timeout bounds each request.
func NewHTTPClient(conns int, timeout time.Duration) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.MaxConnsPerHost = 0
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Result is one request's outcome.
type Result struct {
	// Status is the HTTP status, 0 when the request failed in transport.
	Status int
	// Body is the response body.
	Body string
	// SetCookie is the value of the session cookie the response set, or
	// "" when it set none; Expired tells whether it expired the cookie.
	SetCookie string
	Expired   bool
	// NewCookie is set when the response carried a session Set-Cookie.
	NewCookie bool
	// Start and Latency time the request.
	Start   time.Time
	Latency time.Duration
	// Err is the transport error, if any.
	Err error
}

// User is one browser: a session cookie it sends with every request and
// replaces with what Set-Cookie says. A User is used by one goroutine at a
// time, except that Cookie and SetCookieValue may be called concurrently
// with Get only if the caller synchronizes them.
type User struct {
	HC         *http.Client
	Base       string
	CookieName string
	// Cookie is the session cookie value sent, "" for none.
	Cookie string
}

// Get sends GET base+path with the user's cookie and adopts the session
// cookie the response sets.
func (u *User) Get(path string) Result {
	res := Get(u.HC, u.Base+path, u.CookieName, u.Cookie)
	if res.NewCookie {
		if res.Expired {
			u.Cookie = ""
		} else {
			u.Cookie = res.SetCookie
		}
	}
	return res
}

// Get sends GET url with the session cookie name=value (none when value is
// empty) and reports what came back, without following redirects' cookies.
func Get(hc *http.Client, url, name, value string) Result {
	start := time.Now()
	res := Result{Start: start}
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		res.Err = err
		return res
	}
	if value != "" {
		req.Header.Set("Cookie", name+"="+value)
	}
	resp, err := hc.Do(req)
	if err != nil {
		res.Err = err
		res.Latency = time.Since(start)
		return res
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.Latency = time.Since(start)
	res.Status = resp.StatusCode
	res.Body = string(body)
	if err != nil {
		res.Err = err
	}
	for _, ck := range resp.Cookies() {
		if ck.Name != name {
			continue
		}
		res.NewCookie = true
		res.SetCookie = ck.Value
		res.Expired = ck.MaxAge < 0 || ck.Value == ""
	}
	return res
}

// Percentile returns the p-th percentile (0 < p <= 100) of ds, nearest
// rank; 0 for none. It sorts ds.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(float64(len(ds))*p/100+0.999999) - 1
	i = min(max(i, 0), len(ds)-1)
	return ds[i]
}
