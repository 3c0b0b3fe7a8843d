package demo

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// MaxBody is the largest request body the demo reads: its forms need a
// few hundred bytes.
const MaxBody = 64 << 10

// LimitBody answers 413 Request Entity Too Large to a request whose body
// is over [MaxBody], before next (and the session middleware in it) runs,
// so that the framework's form parsing, which drops errors, never sees a
// truncated body and answers with the CSRF page instead. The body is read
// here, at most MaxBody+1 bytes, and handed on in memory. It is for the
// net/http frameworks; Fiber has its own BodyLimit.
func LimitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBody {
			tooLarge(w)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				tooLarge(w)
				return
			case err != nil:
				http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
}
