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
	timeout := writeTimeout(r)
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

// writeTimeout is the WriteTimeout of the server that serves r, 0 for none.
func writeTimeout(r *http.Request) time.Duration {
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		return srv.WriteTimeout
	}
	return 0
}

// Attachment is a file sent as an attachment by a producer that writes to
// it (an export that reads and writes batch by batch). Its headers go out
// with its first byte, so that a refusal that comes before any can still
// be answered as a page; each write moves the write deadline on, as Copy
// does for each chunk.
type Attachment struct {
	w           http.ResponseWriter
	rc          *http.ResponseController
	timeout     time.Duration
	contentType string
	filename    string
	started     bool
}

// NewAttachment returns the attachment filename, of contentType, that
// answers r on w.
func NewAttachment(w http.ResponseWriter, r *http.Request, contentType, filename string) *Attachment {
	return &Attachment{w: w, rc: http.NewResponseController(w), timeout: writeTimeout(r), contentType: contentType,
		filename: filename}
}

// Started reports whether the first byte was written: after it, a refusal
// can only cut the file short.
func (a *Attachment) Started() bool { return a.started }

func (a *Attachment) Write(p []byte) (int, error) {
	if !a.started {
		a.started = true
		a.w.Header().Set("Content-Type", a.contentType)
		a.w.Header().Set("Content-Disposition", `attachment; filename="`+a.filename+`"`)
	}
	if a.timeout > 0 {
		if err := a.rc.SetWriteDeadline(time.Now().Add(a.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
	}
	return a.w.Write(p)
}
