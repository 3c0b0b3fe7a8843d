package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/valyala/fasthttp"
)

// CookieName is the session cookie name every app is configured with, so
// that the same load scripts serve them all.
const CookieName = "session"

// Env is what the apps need from their surroundings.
type Env struct {
	// RedisAddr is the host:port of a Redis server. Apps with App.Redis set
	// fail to start without it.
	RedisAddr string
	// Dir is an existing directory for SQLite database files.
	Dir string
}

// EnvFromOS returns an Env whose RedisAddr is SESSIONKIT_REDIS_ADDR and
// whose Dir is dir.
func EnvFromOS(dir string) Env {
	return Env{RedisAddr: os.Getenv("SESSIONKIT_REDIS_ADDR"), Dir: dir}
}

// App describes one measured application: a framework serving GET / with
// one session library and store, or with none.
type App struct {
	// Name is unique, "framework/library-store" with net/http spelled
	// "nethttp", e.g. "gin/sessionkit-redis" or "nethttp/scs-memory".
	Name string
	// Framework is "net/http", "gin", "echo", "echo5" (Echo v5), "fiber" or
	// "fiber3" (Fiber v3).
	Framework string
	// Library is "bare" for the framework alone, otherwise the session
	// library: "sessionkit", "scs", "gin-contrib/sessions",
	// "echo-contrib/session" or "fiber/session".
	Library string
	// Store names the library's store ("memory", "redis", "cookie",
	// "sqlite", "cached sqlite"); empty for a bare framework.
	Store string
	// Redis is set when the app needs Env.RedisAddr.
	Redis bool

	build func(env Env, in *Instance) error
}

// Bare reports whether a is a framework without a session library.
func (a App) Bare() bool { return a.Library == "bare" }

// Apps returns every measured application, grouped by framework, each
// framework's bare app first.
func Apps() []App {
	var all []App
	all = append(all, netHTTPApps()...)
	all = append(all, ginApps()...)
	all = append(all, echoApps()...)
	all = append(all, echo5Apps()...)
	all = append(all, fiberApps()...)
	all = append(all, fiber3Apps()...)
	return all
}

// Lookup returns the app called name.
func Lookup(name string) (App, bool) {
	for _, a := range Apps() {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}

// ErrNoRedis is returned by App.Start for an app that needs Redis when
// Env.RedisAddr is empty.
var ErrNoRedis = errors.New("bench: this app needs Redis: set SESSIONKIT_REDIS_ADDR to a server's host:port (scripts/test.sh and bench/run.sh start one)")

// Start builds the app. Close the instance to release its stores and
// clients.
func (a App) Start(env Env) (*Instance, error) {
	if a.Redis && env.RedisAddr == "" {
		return nil, fmt.Errorf("%s: %w", a.Name, ErrNoRedis)
	}
	in := &Instance{App: a}
	if err := a.build(env, in); err != nil {
		in.Close()
		return nil, fmt.Errorf("%s: %w", a.Name, err)
	}
	return in, nil
}

// Instance is a built application. It is safe for concurrent use as far
// as its framework is; Seed and Driver are meant for one goroutine.
type Instance struct {
	// App is the application this instance runs.
	App App

	handler http.Handler // net/http, Gin, Echo
	// fast, listen and shutdown are set for Fiber v2 and v3 apps: the
	// app's fasthttp handler, its Listener and its Shutdown.
	fast     fasthttp.RequestHandler
	listen   func(net.Listener) error
	shutdown func() error
	redis    *redis.Client
	closers  []func() error
}

// RedisPoolStats returns the statistics of the go-redis connection pool
// the app uses, and false when it uses no Redis.
func (in *Instance) RedisPoolStats() (*redis.PoolStats, bool) {
	if in.redis == nil {
		return nil, false
	}
	return in.redis.PoolStats(), true
}

func (in *Instance) onClose(f func() error) { in.closers = append(in.closers, f) }

// Close releases the instance's stores and clients, last opened first.
func (in *Instance) Close() error {
	var errs []error
	for i := len(in.closers) - 1; i >= 0; i-- {
		errs = append(errs, in.closers[i]())
	}
	in.closers = nil
	if in.shutdown != nil {
		errs = append(errs, in.shutdown())
	}
	return errors.Join(errs...)
}

// Response is what one in-process request got back.
type Response struct {
	Status int
	Body   string
	// Cookie is the session cookie the response set, as "name=value", or "".
	Cookie string
}

// Do serves one GET / carrying cookie (a "name=value" Cookie header, or "")
// through the app in-process.
func (in *Instance) Do(cookie string) Response {
	var res Response
	var setCookies []string
	if in.fast != nil {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(http.MethodGet)
		ctx.Request.SetRequestURI("/")
		if cookie != "" {
			ctx.Request.Header.Set("Cookie", cookie)
		}
		in.fast(&ctx)
		res.Status = ctx.Response.StatusCode()
		res.Body = string(ctx.Response.Body())
		ctx.Response.Header.VisitAllCookie(func(_, value []byte) {
			setCookies = append(setCookies, string(value))
		})
	} else {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		in.handler.ServeHTTP(rec, req)
		res.Status = rec.Code
		res.Body = rec.Body.String()
		setCookies = rec.Result().Header.Values("Set-Cookie")
	}
	for _, line := range setCookies {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == CookieName && c.Value != "" && c.MaxAge >= 0 {
			res.Cookie = c.Name + "=" + c.Value
		}
	}
	return res
}

// Seed makes n sessions by sending n requests without a cookie through the
// app, each of which sets the counter to 1, and returns their cookies as
// "name=value" Cookie headers. A bare app gets n distinct cookies of the
// shape of a session cookie, which it ignores.
func (in *Instance) Seed(n int) ([]string, error) {
	cookies := make([]string, n)
	for i := range cookies {
		if in.App.Bare() {
			cookies[i] = fmt.Sprintf("%s=%043d", CookieName, i)
			continue
		}
		res := in.Do("")
		if res.Status != http.StatusOK || res.Body != "1" || res.Cookie == "" {
			return nil, fmt.Errorf("%s: seeding session %d: status %d, body %q, cookie %q", in.App.Name, i, res.Status, res.Body, res.Cookie)
		}
		cookies[i] = res.Cookie
	}
	return cookies, nil
}

// Check verifies the scenario: a fresh session's cookie sent back loads
// that session (the counter answers 2, not 1).
func (in *Instance) Check() error {
	if in.App.Bare() {
		res := in.Do("")
		if res.Status != http.StatusOK {
			return fmt.Errorf("%s: status %d", in.App.Name, res.Status)
		}
		return nil
	}
	cookies, err := in.Seed(1)
	if err != nil {
		return err
	}
	res := in.Do(cookies[0])
	if res.Status != http.StatusOK || res.Body != "2" {
		return fmt.Errorf("%s: returning user got status %d, body %q; want 200 and \"2\"", in.App.Name, res.Status, res.Body)
	}
	return nil
}

// Driver serves requests in-process for benchmarks: request i carries
// cookies[i%len(cookies)]. Each request is made the way a server makes
// one it has just read (a fresh request with its own header map and
// cookie value; for Fiber, the reset RequestCtx of a connection), at the
// same cost for every app, and the response goes to a reusable writer.
type Driver struct {
	serve func(i int) int
	bad   int
}

// Serve serves request i.
func (d *Driver) Serve(i int) {
	if d.serve(i) != http.StatusOK {
		d.bad++
	}
}

// Failures returns how many requests answered a status other than 200.
func (d *Driver) Failures() int { return d.bad }

// Driver returns a driver cycling through cookies, which must not be empty.
func (in *Instance) Driver(cookies []string) *Driver {
	n := len(cookies)
	if in.fast != nil {
		h := in.fast
		var ctx fasthttp.RequestCtx
		raws := make([][]byte, n)
		for i, c := range cookies {
			raws[i] = []byte("GET / HTTP/1.1\r\nHost: bench\r\nCookie: " + c + "\r\n\r\n")
		}
		var rd bytes.Reader
		br := bufio.NewReader(&rd)
		return &Driver{serve: func(i int) int {
			// What fasthttp's server does between two requests of a
			// connection: reset the context (Fiber keeps c.Locals in the
			// user values) and parse the next request from the bytes read.
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.ResetUserValues()
			rd.Reset(raws[i%n])
			br.Reset(&rd)
			if err := ctx.Request.Read(br); err != nil {
				return 0
			}
			h(&ctx)
			return ctx.Response.StatusCode()
		}}
	}
	return HandlerDriver(in.handler, cookies)
}

// HandlerDriver returns a driver serving GET / through h, cycling through
// cookies, which must not be empty: the net/http half of
// [Instance.Driver], for handlers that are not one of the apps (such as
// cmd/calibrate's floor).
func HandlerDriver(h http.Handler, cookies []string) *Driver {
	n := len(cookies)
	// Each request is made afresh, with a header map and a cookie value of
	// its own, as a server makes it from what it read: it is as hot in the
	// cache as a request just parsed from a connection, also when the
	// cookies cycle through 10,000 sessions.
	tmpl := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &discardWriter{h: make(http.Header)}
	return &Driver{serve: func(i int) int {
		clear(w.h)
		w.code = 0
		req := new(http.Request)
		*req = *tmpl
		req.Header = http.Header{"Cookie": {strings.Clone(cookies[i%n])}}
		h.ServeHTTP(w, req)
		if w.code == 0 {
			return http.StatusOK
		}
		return w.code
	}}
}

// discardWriter is a reusable http.ResponseWriter that keeps only the
// status, so that the harness costs every app the same and little.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// Serve serves the app on ln in a new goroutine. Calling shutdown stops it
// (closing ln and the connections); done then receives nil, or the error
// that stopped the server earlier.
func (in *Instance) Serve(ln net.Listener) (shutdown func() error, done <-chan error) {
	errc := make(chan error, 1)
	if in.fast != nil {
		go func() { errc <- in.listen(ln) }()
		return in.shutdown, errc
	}
	srv := &http.Server{Handler: in.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		errc <- err
	}()
	return srv.Close, errc
}

// counterBody is the response body for counter n.
func counterBody(n int) []byte { return strconv.AppendInt(make([]byte, 0, 8), int64(n), 10) }

// newRedisClient returns a go-redis client for env's server, closed with in.
func newRedisClient(env Env, in *Instance) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: env.RedisAddr, ContextTimeoutEnabled: true})
	in.redis = c
	in.onClose(c.Close)
	return c
}

// closer adapts a Close method without a result.
func closer(f func()) func() error { return func() error { f(); return nil } }

var _ io.Closer = (*Instance)(nil)
