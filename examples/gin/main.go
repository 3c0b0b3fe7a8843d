// Command gin is the sessionkit demo app on Gin: a login form with
// remember-me and a CSRF token kept in the session, a page that counts
// visits, flash messages, a one-time code that expires through a per-key
// TTL, and logout.
//
//	go run ./examples/gin                                  # SQLite in ./data/sessions.db
//	go run ./examples/gin -store redis://127.0.0.1:6379    # or SESSION_STORE=...
//
// The same app is in ../echo and ../fiber: only the part marked "Gin" below
// differs, so diff the files to see what changes between frameworks.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/ginsession"
	"github.com/sessionkit/sessionkit/stores"
)

const framework = "Gin"

// ---- Gin: routes, responses, server --------------------------------------

func routes(m *core.Manager, a *app) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery(), ginsession.FromManager(m))
	form := func(c *gin.Context) func(string) string { return c.PostForm }
	r.GET("/", func(c *gin.Context) { respond(c, a.home(ginsession.Get(c))) })
	r.GET("/login", func(c *gin.Context) { respond(c, a.loginForm(ginsession.Get(c))) })
	r.POST("/login", func(c *gin.Context) { respond(c, a.login(ginsession.Get(c), form(c))) })
	r.GET("/code", func(c *gin.Context) { respond(c, a.code(ginsession.Get(c))) })
	r.POST("/code", func(c *gin.Context) { respond(c, a.newCode(ginsession.Get(c), form(c))) })
	r.POST("/logout", func(c *gin.Context) { respond(c, a.logout(ginsession.Get(c), form(c))) })
	return r
}

func respond(c *gin.Context, res result) {
	if res.redirect != "" {
		c.Redirect(http.StatusSeeOther, res.redirect)
		return
	}
	c.Data(res.status, "text/html; charset=utf-8", res.body)
}

// serve runs the app on ln until ctx is done, then shuts it down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Print("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

// ---- The same in every framework ------------------------------------------

const (
	defaultStore = "sqlite://./data/sessions.db"
	demoPassword = "password"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	storeURL := flag.String("store", envOr("SESSION_STORE", defaultStore),
		"session store URL: memory://, file://DIR, sqlite://FILE, redis://HOST:PORT, memcache://HOST:PORT (default from $SESSION_STORE)")
	remember := flag.Duration("remember", core.DefaultRememberTimeout, "how long remember-me keeps a session")
	otpTTL := flag.Duration("otp-ttl", time.Minute, "how long a one-time code lives")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cfg, err := stores.ParseURL(*storeURL)
	if err != nil {
		return err
	}
	store, err := stores.Open(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if c, ok := store.(io.Closer); ok {
			if err := c.Close(); err != nil {
				log.Printf("closing the store: %v", err)
			}
		}
	}()
	opts := append(cfg.Options(), core.WithRememberTimeout(*remember))
	m := core.NewManager(store, opts...)
	a := &app{remember: *remember, otpTTL: *otpTTL}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Printf("listening on http://%s (store %s)", ln.Addr(), redact(*storeURL))
	return serve(ctx, ln, routes(m, a))
}

// app holds the handlers. Each takes the request's session (and the form,
// for a POST) and returns what to send, so that they read the same in every
// framework.
type app struct {
	remember time.Duration // remember-me timeout, shown on the pages
	otpTTL   time.Duration // lifetime of a one-time code
}

// result is a handler's answer: a redirect (303 See Other) or a page.
type result struct {
	redirect string
	status   int
	body     []byte
}

// Session keys.
const (
	keyUser   = "user"
	keyVisits = "visits"
	keyCSRF   = "csrf"
	keyCode   = "code"
)

// home greets a logged-in user and counts the visits; others go to /login.
func (a *app) home(s *core.Session) result {
	user, ok := core.GetAs[string](s, keyUser)
	if !ok {
		return result{redirect: "/login"}
	}
	visits, _ := core.GetAs[int](s, keyVisits)
	visits++
	s.Set(keyVisits, visits)
	return a.page(s, http.StatusOK, "home", data{User: user, Visits: visits, Remembered: s.Remember()})
}

func (a *app) loginForm(s *core.Session) result {
	if _, ok := core.GetAs[string](s, keyUser); ok {
		return result{redirect: "/"}
	}
	return a.page(s, http.StatusOK, "login", data{})
}

func (a *app) login(s *core.Session, form func(string) string) result {
	if !validCSRF(s, form(keyCSRF)) {
		return a.page(s, http.StatusForbidden, "forbidden", data{})
	}
	user := strings.TrimSpace(form("username"))
	password := form("password")
	if user == "" || len(user) > 64 || subtle.ConstantTimeCompare([]byte(password), []byte(demoPassword)) != 1 {
		return a.page(s, http.StatusUnauthorized, "login", data{Error: `Wrong username or password. (Any username works; the password is "password".)`})
	}
	s.Renew() // a new session ID at login defeats session fixation
	s.SetRemember(form("remember") == "on")
	s.Set(keyUser, user)
	s.Set(keyCSRF, rand.Text()) // and a new CSRF token for the new privileges
	s.AddFlash("Welcome, " + user + "! You are logged in.")
	return result{redirect: "/"}
}

// code shows the current one-time code, if it has not expired yet.
func (a *app) code(s *core.Session) result {
	if _, ok := core.GetAs[string](s, keyUser); !ok {
		return result{redirect: "/login"}
	}
	code, _ := core.GetAs[string](s, keyCode)
	return a.page(s, http.StatusOK, "code", data{Code: code})
}

// newCode makes a one-time code that the session forgets after otpTTL.
func (a *app) newCode(s *core.Session, form func(string) string) result {
	if !validCSRF(s, form(keyCSRF)) {
		return a.page(s, http.StatusForbidden, "forbidden", data{})
	}
	if _, ok := core.GetAs[string](s, keyUser); !ok {
		return result{redirect: "/login"}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return result{status: http.StatusInternalServerError, body: []byte("no randomness")}
	}
	s.SetWithTTL(keyCode, fmt.Sprintf("%06d", n), a.otpTTL)
	return result{redirect: "/code"}
}

func (a *app) logout(s *core.Session, form func(string) string) result {
	if !validCSRF(s, form(keyCSRF)) {
		return a.page(s, http.StatusForbidden, "forbidden", data{})
	}
	s.Destroy()
	// Values set after Destroy go into a fresh, anonymous session.
	s.AddFlash("You have been logged out.")
	return result{redirect: "/login"}
}

// csrfToken returns the session's CSRF token, making one on first use.
func csrfToken(s *core.Session) string {
	if t, ok := core.GetAs[string](s, keyCSRF); ok {
		return t
	}
	t := rand.Text() // 128 bits from crypto/rand
	s.Set(keyCSRF, t)
	return t
}

// validCSRF compares the submitted token with the session's in constant
// time.
func validCSRF(s *core.Session, got string) bool {
	want, ok := core.GetAs[string](s, keyCSRF)
	return ok && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// data is what the templates show.
type data struct {
	Framework  string
	Flashes    []string
	CSRF       string
	Error      string
	User       string
	Visits     int
	Remembered bool
	Remember   string
	Code       string
	CodeTTL    string
}

// page renders the named template; every page shows the pending flashes and
// carries the CSRF token for its forms.
func (a *app) page(s *core.Session, status int, name string, d data) result {
	d.Framework = framework
	d.CSRF = csrfToken(s)
	for _, f := range s.Flashes() {
		d.Flashes = append(d.Flashes, fmt.Sprint(f))
	}
	d.Remember = human(a.remember)
	d.CodeTTL = human(a.otpTTL)
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		log.Printf("template %s: %v", name, err)
		return result{status: http.StatusInternalServerError, body: []byte("template error")}
	}
	return result{status: status, body: buf.Bytes()}
}

// human formats whole days as days and drops a duration's zero minutes and
// seconds: "30 days", "1h", "1m", "2s".
func human(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > day && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// redact hides the secrets in the store URL before it is logged: the
// userinfo password and every query parameter that names a password,
// secret, token or key (password, sentinel_password, ...).
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		scheme, _, _ := strings.Cut(s, ":")
		return scheme + ":..."
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParam(k) {
				q[k] = []string{"xxxxx"}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// secretParam reports whether a store URL query parameter holds a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"pass", "secret", "token", "key", "auth"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sessionkit demo ({{.Framework}})</title>
<style>
body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
.flash { background: #e6f4ea; border: 1px solid #8c8; border-radius: 4px; padding: .5rem 1rem; }
.error { background: #fbe9e9; border-color: #c88; }
label { display: block; margin: .5rem 0; }
#otp { font-size: 2rem; letter-spacing: .3rem; }
</style>
</head>
<body>
<h1>sessionkit demo <small>({{.Framework}})</small></h1>
{{range .Flashes}}<p class="flash">{{.}}</p>
{{end}}{{end}}

{{define "bottom"}}</body>
</html>
{{end}}

{{define "login"}}{{template "top" .}}
{{with .Error}}<p class="flash error" id="error">{{.}}</p>{{end}}
<form id="login-form" method="post" action="/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Username <input id="username" name="username" required maxlength="64" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" required autocomplete="current-password"></label>
<label><input id="remember" name="remember" type="checkbox" value="on"> Remember me for {{.Remember}}</label>
<button id="login-button" type="submit">Log in</button>
</form>
<p>This is a demo: any username works, and the password is <code>password</code>.</p>
{{template "bottom"}}{{end}}

{{define "home"}}{{template "top" .}}
<p id="greeting">Hello, <strong id="user">{{.User}}</strong>!</p>
<p>Visits to this page in this session: <strong id="visits">{{.Visits}}</strong>.</p>
<p id="lifetime">{{if .Remembered}}This browser is remembered for {{.Remember}}.{{else}}This session ends when you close the browser.{{end}}</p>
<p><a id="code-link" href="/code">Get a one-time code</a></p>
<form id="logout-form" method="post" action="/logout">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button id="logout-button" type="submit">Log out</button>
</form>
{{template "bottom"}}{{end}}

{{define "code"}}{{template "top" .}}
{{if .Code}}<p>Your one-time code: <code id="otp">{{.Code}}</code></p>
<p>The session forgets it {{.CodeTTL}} after it was made (a per-key TTL); reload to see.</p>
{{else}}<p id="no-code">No code at the moment. A new one lives for {{.CodeTTL}}.</p>
{{end}}<form id="code-form" method="post" action="/code">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button id="code-button" type="submit">New code</button>
</form>
<p><a id="home-link" href="/">Back</a></p>
{{template "bottom"}}{{end}}

{{define "forbidden"}}{{template "top" .}}
<p class="flash error" id="error">Forbidden: the form's CSRF token is missing or wrong. This app needs cookies to check the form: enable cookies for this site, then load the form again.</p>
<p><a href="/">Home</a></p>
{{template "bottom"}}{{end}}
`))
