package bench

import (
	"net/http"
	"os"
	"sync/atomic"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	scsmemstore "github.com/alexedwards/scs/v2/memstore"
	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/core/cachedstore"
	"github.com/sessionkit/sessionkit/core/memstore"
	"github.com/sessionkit/sessionkit/stores/redisstore"
	"github.com/sessionkit/sessionkit/stores/sqlitestore"
)

// netHTTPApps are the net/http apps: http.ServeMux alone, scs and
// sessionkit's core.Manager.Handler over several stores.
func netHTTPApps() []App {
	return []App{
		{Name: "nethttp/bare", Framework: "net/http", Library: "bare", build: buildNetHTTPBare},
		{Name: "nethttp/scs-memory", Framework: "net/http", Library: "scs", Store: "memory", build: func(env Env, in *Instance) error {
			store := scsmemstore.New()
			in.onClose(closer(store.StopCleanup))
			return buildSCS(in, store)
		}},
		{Name: "nethttp/scs-redis", Framework: "net/http", Library: "scs", Store: "redis", Redis: true, build: func(env Env, in *Instance) error {
			return buildSCS(in, goredisstore.New(newRedisClient(env, in)))
		}},
		{Name: "nethttp/sessionkit-memory", Framework: "net/http", Library: "sessionkit", Store: "memory", build: func(env Env, in *Instance) error {
			return buildSessionkitNetHTTP(in, memoryStore(in))
		}},
		{Name: "nethttp/sessionkit-redis", Framework: "net/http", Library: "sessionkit", Store: "redis", Redis: true, build: func(env Env, in *Instance) error {
			store, err := redisStore(env, in)
			if err != nil {
				return err
			}
			return buildSessionkitNetHTTP(in, store)
		}},
		{Name: "nethttp/sessionkit-sqlite", Framework: "net/http", Library: "sessionkit", Store: "sqlite", build: func(env Env, in *Instance) error {
			store, err := sqliteStore(env, in, "sqlite")
			if err != nil {
				return err
			}
			return buildSessionkitNetHTTP(in, store)
		}},
		{Name: "nethttp/sessionkit-cached-sqlite", Framework: "net/http", Library: "sessionkit", Store: "cached sqlite", build: func(env Env, in *Instance) error {
			store, err := sqliteStore(env, in, "cached-sqlite")
			if err != nil {
				return err
			}
			cached := cachedstore.New(store, cachedstore.WithCloseBacking(false))
			in.onClose(cached.Close)
			return buildSessionkitNetHTTP(in, cached)
		}},
	}
}

func buildNetHTTPBare(_ Env, in *Instance) error {
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writePlain(w, counterBody(int(n.Add(1))))
	})
	in.handler = mux
	return nil
}

func buildSCS(in *Instance, store scs.Store) error {
	sm := scs.New()
	sm.Store = store
	sm.Cookie.Name = CookieName
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		n := sm.GetInt(r.Context(), "n") + 1
		sm.Put(r.Context(), "n", n)
		writePlain(w, counterBody(n))
	})
	in.handler = sm.LoadAndSave(mux)
	return nil
}

func buildSessionkitNetHTTP(in *Instance, store core.Store) error {
	m := core.NewManager(store, core.WithCookie(core.Cookie{Name: CookieName}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		s := core.FromContext(r.Context())
		n, _ := core.GetAs[int](s, "n")
		n++
		s.Set("n", n)
		writePlain(w, counterBody(n))
	})
	in.handler = m.Handler(mux)
	return nil
}

func writePlain(w http.ResponseWriter, body []byte) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(body)
}

// memoryStore returns a memstore.Store closed with in.
func memoryStore(in *Instance) *memstore.Store {
	s := memstore.New()
	in.onClose(s.Close)
	return s
}

// redisStore returns a redisstore.Store on env's server, closed with in.
func redisStore(env Env, in *Instance) (*redisstore.Store, error) {
	s, err := redisstore.New(newRedisClient(env, in))
	if err != nil {
		return nil, err
	}
	in.onClose(s.Close)
	return s, nil
}

// sqliteStore returns a sqlitestore.Store in a new file of env.Dir, closed
// with in.
func sqliteStore(env Env, in *Instance, name string) (*sqlitestore.Store, error) {
	f, err := os.CreateTemp(env.Dir, name+"-*.db")
	if err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	s, err := sqlitestore.Open(f.Name())
	if err != nil {
		return nil, err
	}
	in.onClose(s.Close)
	return s, nil
}
