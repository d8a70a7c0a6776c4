// Package download streams long responses, such as a user list of a hundred
// thousand rows, past the server's WriteTimeout.
package download

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// ChunkSize is how much Copy writes under one write deadline.
const ChunkSize = 32 << 10

// Copy writes src to w chunk by chunk. The server's WriteTimeout bounds a
// whole response; for a download it bounds each chunk instead: before each
// one, Copy moves the connection's write deadline to WriteTimeout from now
// (http.ResponseController). A download then runs as long as the client
// keeps reading, and a client that stops reading is still cut off after
// WriteTimeout. Reading src, a database query per chunk, does not count
// against the deadline.
func Copy(w http.ResponseWriter, r *http.Request, src io.Reader) (int64, error) {
	var timeout time.Duration
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		timeout = srv.WriteTimeout
	}
	rc := http.NewResponseController(w)
	buf := make([]byte, ChunkSize)
	var written int64
	for {
		n, rerr := io.ReadFull(src, buf)
		if n > 0 {
			if timeout > 0 {
				if err := rc.SetWriteDeadline(time.Now().Add(timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
					return written, err
				}
			}
			m, err := w.Write(buf[:n])
			written += int64(m)
			if err != nil {
				return written, err
			}
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return written, nil
		case rerr != nil:
			return written, rerr
		}
	}
}
