package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/sessionkit/sessionkit/core"
)

// device is one row of the devices page.
type device struct {
	// Handle names the session to the revoke form: not a credential, and
	// rendered escaped like every value.
	Handle   string
	Created  string
	Expires  string
	Remember bool
	This     bool // the session of the request
}

// timeLayout is how the devices page shows times, in UTC.
const timeLayout = "2006-01-02 15:04:05 UTC"

// devices lists the logged-in user's sessions: the "Your devices" page.
func (a *App) devices(r Request) Result {
	s := r.Session
	user := s.User()
	if user == "" {
		return Result{Redirect: "/login"}
	}
	infos, err := a.Manager.UserSessions(ctxOf(r), user)
	if err != nil {
		return a.storeFailed("list the sessions of a user", err)
	}
	this := s.Handle()
	var list []device
	for _, in := range infos {
		list = append(list, device{
			Handle:   in.Handle,
			Created:  in.Created.UTC().Format(timeLayout),
			Expires:  in.Expires.UTC().Format(timeLayout),
			Remember: in.Remember,
			This:     in.Handle == this,
		})
	}
	return a.page(r, http.StatusOK, "devices", data{User: user, Devices: list})
}

// logoutOthers destroys every session of the user but the request's own:
// "log out other devices".
func (a *App) logoutOthers(r Request) Result {
	if !a.validCSRF(r) {
		return a.page(r, http.StatusForbidden, "forbidden", data{})
	}
	s := r.Session
	user := s.User()
	if user == "" {
		return Result{Redirect: "/login"}
	}
	n, err := a.Manager.DestroyUserSessions(ctxOf(r), user, s.Handle())
	if err != nil {
		return a.storeFailed("log out other devices", err)
	}
	switch n {
	case 0:
		s.AddFlash("No other device was logged in.")
	case 1:
		s.AddFlash("Logged out 1 other device.")
	default:
		s.AddFlash(fmt.Sprintf("Logged out %d other devices.", n))
	}
	return Result{Redirect: "/devices"}
}

// revoke logs out the one device whose handle the form posts; this
// device's own handle is a logout. A handle that names no live session of
// this user (another user's, one revoked already, a made-up one) destroys
// nothing and says so.
func (a *App) revoke(r Request) Result {
	if !a.validCSRF(r) {
		return a.page(r, http.StatusForbidden, "forbidden", data{})
	}
	s := r.Session
	user := s.User()
	if user == "" {
		return Result{Redirect: "/login"}
	}
	handle := r.Form("handle")
	if handle != "" && handle == s.Handle() {
		// Through the session, so that its cookie goes too; destroying it
		// behind the session's back would fail the request's commit.
		return a.endSession(r)
	}
	err := a.Manager.DestroySession(ctxOf(r), user, handle)
	switch {
	case errors.Is(err, core.ErrSessionGone):
		s.AddFlash("That device is not one of your sessions, or it is logged out already: nothing was revoked.")
	case err != nil:
		return a.storeFailed("revoke a device", err)
	default:
		s.AddFlash("The device is logged out.")
	}
	return Result{Redirect: "/devices"}
}

// storeFailed logs a failed call to the manager outside the session and
// answers 500. Core's errors name sessions by their hashed store keys
// only, never by their IDs.
func (a *App) storeFailed(op string, err error) Result {
	a.log.Error("demo: "+op+" failed", slog.String("error", err.Error()))
	return Result{
		Status: http.StatusInternalServerError,
		Header: http.Header{"Cache-Control": {"no-store"}},
		Body:   []byte("store error"),
	}
}

// LogEvent logs a session event (see [core.WithEvents]) at Info: what
// happened, what destroyed the session, the user, and a prefix of the
// session's hashed store key as core's errors name it. Events hold no
// session ID; the handle, which is not one either, is left out all the
// same, since the log has no use for it.
func (a *App) LogEvent(ctx context.Context, e core.Event) {
	attrs := make([]slog.Attr, 0, 4)
	attrs = append(attrs, slog.String("event", e.Kind.String()))
	if e.Kind == core.EventDestroyed {
		attrs = append(attrs, slog.String("cause", e.Cause.String()))
	}
	if e.User != "" {
		attrs = append(attrs, slog.String("user", e.User))
	}
	if e.Key != "" {
		attrs = append(attrs, slog.String("key", e.Key[:min(len(e.Key), 16)]))
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "demo: session event", attrs...)
}

// ctxOf returns the request's context.
func ctxOf(r Request) context.Context {
	if r.Context != nil {
		return r.Context
	}
	return context.Background()
}
