package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/memstore"
)

func main() {
	store := memstore.New() // every sessionkit store can find a user's sessions
	defer store.Close()
	m := core.NewManager(store, core.WithEvents(func(_ context.Context, e core.Event) {
		if e.Kind == core.EventDestroyed {
			log.Printf("a session of %s was destroyed (%s)", e.User, e.Cause) // no session ID in e
		}
	}))

	// user runs h for a logged-in session only.
	user := func(h func(w http.ResponseWriter, r *http.Request, s *core.Session)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s := core.FromContext(r.Context())
			if s.User() == "" {
				http.Error(w, "log in first", http.StatusUnauthorized)
				return
			}
			h(w, r, s) // and check a CSRF token on every POST
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context()) // check the password (and a CSRF token) first
		s.Renew()                          // a new ID at login
		s.SetUser(r.PostFormValue("user")) // a stable user ID, not a secret
		http.Redirect(w, r, "/devices", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /devices", user(func(w http.ResponseWriter, r *http.Request, s *core.Session) {
		devices, err := m.UserSessions(r.Context(), s.User()) // newest first
		if err != nil {
			http.Error(w, "store error", http.StatusInternalServerError)
			return
		}
		for _, d := range devices {
			this := ""
			if d.Handle == s.Handle() {
				this = " (this device)"
			}
			fmt.Fprintf(w, "%s: since %s, until %s, remembered %v%s\n", d.Handle,
				d.Created.Format(time.DateTime), d.Expires.Format(time.DateTime), d.Remember, this)
		}
	}))
	mux.HandleFunc("POST /devices/logout-others", user(func(w http.ResponseWriter, r *http.Request, s *core.Session) {
		n, err := m.DestroyUserSessions(r.Context(), s.User(), s.Handle()) // all but this one
		if err != nil {
			http.Error(w, "store error", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "logged out %d other devices\n", n)
	}))
	mux.HandleFunc("POST /devices/revoke", user(func(w http.ResponseWriter, r *http.Request, s *core.Session) {
		handle := r.PostFormValue("handle")
		if handle == s.Handle() {
			s.Destroy() // this device: a plain logout, which expires the cookie too
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		err := m.DestroySession(r.Context(), s.User(), handle) // only if it is this user's
		switch {
		case errors.Is(err, core.ErrSessionGone):
			http.Error(w, "no such device", http.StatusNotFound)
		case err != nil:
			http.Error(w, "store error", http.StatusInternalServerError)
		default:
			http.Redirect(w, r, "/devices", http.StatusSeeOther)
		}
	}))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", m.Handler(mux)))
}
