package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/sessionkit/sessionkit/core"
)

const demoPassword = "password"

var errShortKey = fmt.Errorf("the CSRF key ($CSRF_KEY) needs at least %d bytes", csrfKeyLen)

// Config configures an [App].
type Config struct {
	// Framework names the framework on the pages.
	Framework string
	// Store keeps the sessions; the caller closes it.
	Store core.Store
	// Remember is the remember-me timeout. Default: core.DefaultRememberTimeout.
	Remember time.Duration
	// OTPTTL is the lifetime of a one-time code. Default: 1 minute.
	OTPTTL time.Duration
	// Secure makes the session and CSRF cookies Secure and gives them the
	// __Host- name prefix; for an app served over HTTPS only.
	Secure bool
	// CSRFKey signs the CSRF cookies, at least 32 bytes; every instance
	// of an app needs the same one. Nil means a random key per process.
	CSRFKey []byte
	// Logger gets the store failures and the session events (see
	// [App.LogEvent]); the manager logs to it too. Default: slog.Default().
	Logger *slog.Logger
}

// App is the demo: its handlers take a [Request] and return a [Result],
// the same on every framework. An App is safe for concurrent use.
type App struct {
	// Manager is the session manager the framework's middleware uses.
	Manager *core.Manager

	framework string
	remember  time.Duration
	otpTTL    time.Duration
	csrf      *CSRF
	log       *slog.Logger
}

// New returns the app for cfg; opts go to the session manager before the
// app's own options.
func New(cfg Config, opts ...core.Option) (*App, error) {
	if cfg.Store == nil {
		return nil, errors.New("demo: no store")
	}
	if cfg.Remember == 0 {
		cfg.Remember = core.DefaultRememberTimeout
	}
	if cfg.OTPTTL == 0 {
		cfg.OTPTTL = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	csrf, err := NewCSRF(cfg.CSRFKey, cfg.Secure)
	if err != nil {
		return nil, err
	}
	a := &App{
		framework: cfg.Framework,
		remember:  cfg.Remember,
		otpTTL:    cfg.OTPTTL,
		csrf:      csrf,
		log:       cfg.Logger,
	}
	opts = append(opts, core.WithRememberTimeout(cfg.Remember), core.WithLogger(cfg.Logger), core.WithEvents(a.LogEvent))
	if cfg.Secure {
		opts = append(opts, core.WithCookie(core.Cookie{Name: "__Host-" + core.DefaultCookieName, Path: "/", Secure: true}))
	}
	a.Manager = core.NewManager(cfg.Store, opts...)
	return a, nil
}

// Request is what a handler reads of a request.
type Request struct {
	// Context is the request's context, for the calls to the manager
	// that reach the store outside the session (the devices page);
	// nil means context.Background().
	Context context.Context
	Session *core.Session
	// Form returns a field of the request body (never of the query
	// string: a token in a URL leaks through logs and Referer headers).
	Form func(name string) string
	// Cookie returns the value of the named request cookie, "" if absent.
	Cookie func(name string) string
}

// Result is a handler's answer: a redirect (303 See Other) or a page, with
// the headers and cookies to send along.
type Result struct {
	Redirect string
	Status   int
	Body     []byte
	Header   http.Header
	Cookies  []*http.Cookie
}

// Route is one of the app's routes.
type Route struct {
	Method, Path string
	Handle       func(Request) Result
}

// Routes returns the app's routes, for the framework to register.
func (a *App) Routes() []Route {
	return []Route{
		{http.MethodGet, "/", a.home},
		{http.MethodGet, "/login", a.loginForm},
		{http.MethodPost, "/login", a.login},
		{http.MethodGet, "/code", a.code},
		{http.MethodPost, "/code", a.newCode},
		{http.MethodPost, "/logout", a.logout},
		{http.MethodGet, "/devices", a.devices},
		{http.MethodPost, "/devices/logout-others", a.logoutOthers},
		{http.MethodPost, "/devices/revoke", a.revoke},
	}
}

// LogError logs a request's failure, a store error as the framework's
// middleware reports it. Core's errors name the session by a prefix of its
// hashed store key, which is safe to log; the raw ID never reaches them
// (nor the store, which only sees the hashed key).
func (a *App) LogError(err error) {
	a.log.Error("demo: request failed", slog.String("error", err.Error()))
}

// Session keys. Who is logged in is not among them: it is the session's
// binding, [core.Session.User], which "Your devices" lists and revokes.
const (
	keyVisits = "visits"
	keyCSRF   = "csrf"
	keyCode   = "code"
)

// home greets a logged-in user and counts the visits; others go to /login.
func (a *App) home(r Request) Result {
	s := r.Session
	user := s.User()
	if user == "" {
		return Result{Redirect: "/login"}
	}
	visits, _ := core.GetAs[int](s, keyVisits)
	visits++
	s.Set(keyVisits, visits)
	return a.page(r, http.StatusOK, "home", data{User: user, Visits: visits, Remembered: s.Remember()})
}

func (a *App) loginForm(r Request) Result {
	if r.Session.User() != "" {
		return Result{Redirect: "/"}
	}
	return a.page(r, http.StatusOK, "login", data{})
}

func (a *App) login(r Request) Result {
	if !a.validCSRF(r) {
		return a.page(r, http.StatusForbidden, "forbidden", data{})
	}
	user := strings.TrimSpace(r.Form("username"))
	password := r.Form("password")
	if user == "" || len(user) > 64 || subtle.ConstantTimeCompare([]byte(password), []byte(demoPassword)) != 1 {
		return a.page(r, http.StatusUnauthorized, "login", data{Error: `Wrong username or password. (Any username works; the password is "password".)`})
	}
	s := r.Session
	s.Renew() // a new session ID at login defeats session fixation
	// The binding is the login: the user's devices page finds the session
	// by it, and "log out other devices" destroys it.
	s.SetUser(user)
	s.SetRemember(r.Form("remember") == "on")
	// From now on the session holds the CSRF token, a new one for the new
	// privileges; the anonymous cookie has done its job.
	s.Set(keyCSRF, rand.Text())
	s.AddFlash("Welcome, " + user + "! You are logged in.")
	return Result{Redirect: "/", Cookies: []*http.Cookie{a.csrf.Expire()}}
}

// code shows the current one-time code, if it has not expired yet.
func (a *App) code(r Request) Result {
	if r.Session.User() == "" {
		return Result{Redirect: "/login"}
	}
	code, _ := core.GetAs[string](r.Session, keyCode)
	return a.page(r, http.StatusOK, "code", data{Code: code})
}

// newCode makes a one-time code that the session forgets after otpTTL.
func (a *App) newCode(r Request) Result {
	if !a.validCSRF(r) {
		return a.page(r, http.StatusForbidden, "forbidden", data{})
	}
	if r.Session.User() == "" {
		return Result{Redirect: "/login"}
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return Result{Status: http.StatusInternalServerError, Body: []byte("no randomness")}
	}
	r.Session.SetWithTTL(keyCode, fmt.Sprintf("%06d", n), a.otpTTL)
	return Result{Redirect: "/code"}
}

func (a *App) logout(r Request) Result {
	if !a.validCSRF(r) {
		return a.page(r, http.StatusForbidden, "forbidden", data{})
	}
	if r.Session.User() == "" {
		// Nobody to log out: writing the flash below would make anonymous
		// sessions on demand.
		return Result{Redirect: "/login"}
	}
	return a.endSession(r)
}

// endSession logs the request's session out.
func (a *App) endSession(r Request) Result {
	r.Session.Destroy()
	// Values set after Destroy go into a fresh, anonymous session.
	r.Session.AddFlash("You have been logged out.")
	return Result{Redirect: "/login"}
}

// csrfToken returns the token for the page's forms: the session's once
// logged in, else the signed cookie's, and the cookie to set when the
// request had no valid one.
func (a *App) csrfToken(r Request) (string, *http.Cookie) {
	if t, ok := core.GetAs[string](r.Session, keyCSRF); ok {
		return t, nil
	}
	return a.csrf.Token(r.Cookie(a.csrf.CookieName()))
}

// validCSRF checks the posted token against the session's, if the session
// has one, else against the signed cookie's, in constant time.
func (a *App) validCSRF(r Request) bool {
	got := r.Form(keyCSRF)
	if want, ok := core.GetAs[string](r.Session, keyCSRF); ok {
		return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
	}
	return a.csrf.Valid(r.Cookie(a.csrf.CookieName()), got)
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
	Devices    []device
}

// page renders the named template; every page shows the pending flashes and
// carries the CSRF token for its forms. No cache may keep a page: each
// holds a CSRF token, and a logged-in one the user's data.
func (a *App) page(r Request, status int, name string, d data) Result {
	res := Result{Header: http.Header{"Cache-Control": {"no-store"}}}
	d.Framework = a.framework
	var set *http.Cookie
	d.CSRF, set = a.csrfToken(r)
	if set != nil {
		res.Cookies = append(res.Cookies, set)
	}
	for _, f := range r.Session.Flashes() {
		d.Flashes = append(d.Flashes, fmt.Sprint(f))
	}
	d.Remember = human(a.remember)
	d.CodeTTL = human(a.otpTTL)
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		a.log.Error("demo: template failed", slog.String("template", name), slog.String("error", err.Error()))
		return Result{Status: http.StatusInternalServerError, Body: []byte("template error")}
	}
	res.Status, res.Body = status, buf.Bytes()
	return res
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
