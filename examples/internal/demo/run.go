package demo

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessionkit/sessionkit/core"
	"github.com/sessionkit/sessionkit/stores"
)

const defaultStore = "sqlite://./data/sessions.db"

// Serve runs the app on ln until ctx is done, then shuts it down
// gracefully: each framework's server.
type Serve func(ctx context.Context, ln net.Listener, a *App) error

// Main is the demo's main function: it reads the flags, opens the store
// and runs serve until SIGINT or SIGTERM.
func Main(framework string, serve Serve) {
	if err := run(framework, serve); err != nil {
		log.Fatal(err)
	}
}

func run(framework string, serve Serve) error {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	storeURL := flag.String("store", envOr("SESSION_STORE", defaultStore),
		"session store URL: memory://, file://DIR, sqlite://FILE, redis://HOST:PORT, memcache://HOST:PORT (default from $SESSION_STORE)")
	remember := flag.Duration("remember", core.DefaultRememberTimeout, "how long remember-me keeps a session")
	otpTTL := flag.Duration("otp-ttl", time.Minute, "how long a one-time code lives")
	secure := flag.Bool("secure", false, "Secure cookies with the __Host- name prefix: for an app served over HTTPS only")
	flag.Parse()
	// The key comes from the environment only: a flag would show it in ps.
	var csrfKey []byte
	if k := os.Getenv("CSRF_KEY"); k != "" {
		csrfKey = []byte(k)
	}

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
	a, err := New(Config{
		Framework: framework,
		Store:     store,
		Remember:  *remember,
		OTPTTL:    *otpTTL,
		Secure:    *secure,
		CSRFKey:   csrfKey,
	}, cfg.Options()...)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Printf("listening on http://%s (store %s)", ln.Addr(), redact(*storeURL))
	return serve(ctx, ln, a)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// ServeHTTP runs h on ln until ctx is done, then shuts it down gracefully:
// the server of the frameworks built on net/http.
func ServeHTTP(ctx context.Context, ln net.Listener, h http.Handler) error {
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
