// Package mailtest runs a real SMTP server in the test process (go-smtp) and
// keeps what it receives, so tests can follow the links in real emails.
package mailtest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one received email.
type Message struct {
	From      string
	To        []string
	MessageID string
	Subject   string
	Text      string
	HTML      string
	Raw       []byte
}

// Server is an SMTP server on 127.0.0.1.
type Server struct {
	Addr string

	srv  *smtp.Server
	ln   net.Listener
	mu   sync.Mutex
	msgs []*Message
	// fail makes the server refuse messages, as a broken relay would.
	fail bool
	// refused are recipients the server refuses for good.
	refused map[string]bool
	recv    chan struct{}
}

// Start starts a server on a free port, stopped when the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{recv: make(chan struct{}, 1)}
	s.listen(tb, "127.0.0.1:0")
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) listen(tb testing.TB, addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	s.ln, s.Addr = ln, ln.Addr().String()
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	go s.srv.Serve(ln)
}

// URL is the smtp:// URL of the server.
func (s *Server) URL() string { return "smtp://" + s.Addr }

// Stop closes the server; the port stays known so Restart can reuse it.
func (s *Server) Stop() {
	s.srv.Close()
	s.ln.Close() // Serve may not have taken the listener over yet
}

// Restart listens again on the same address after Stop.
func (s *Server) Restart(tb testing.TB) { s.listen(tb, s.Addr) }

// SetFailing makes the server answer every message with a temporary error.
func (s *Server) SetFailing(fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = fail
}

// RefuseRecipient makes the server refuse messages to rcpt with a
// permanent error, as a relay does for a mailbox that does not exist.
func (s *Server) RefuseRecipient(rcpt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused == nil {
		s.refused = map[string]bool{}
	}
	s.refused[strings.ToLower(rcpt)] = true
}

// Messages returns what has arrived so far.
func (s *Server) Messages() []*Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Message(nil), s.msgs...)
}

// WaitFor waits until n messages have arrived and returns them.
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []*Message {
	tb.Helper()
	deadline := time.After(timeout)
	for {
		if msgs := s.Messages(); len(msgs) >= n {
			return msgs
		}
		select {
		case <-s.recv:
		case <-deadline:
			tb.Fatalf("mailtest: %d messages arrived within %s; want %d", len(s.Messages()), timeout, n)
		}
	}
}

// LastTo returns the newest message to rcpt, or nil.
func (s *Server) LastTo(rcpt string) *Message {
	msgs := s.Messages()
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, to := range msgs[i].To {
			if strings.EqualFold(to, rcpt) {
				return msgs[i]
			}
		}
	}
	return nil
}

var linkPattern = regexp.MustCompile(`https?://[^\s"<>]+`)

// Link returns the first URL in the message's text part that contains part.
func (m *Message) Link(part string) string {
	for _, l := range linkPattern.FindAllString(m.Text, -1) {
		if strings.Contains(l, part) {
			return l
		}
	}
	return ""
}

func (s *Server) add(m *Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	select {
	case s.recv <- struct{}{}:
	default:
	}
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	from string
	to   []string
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	refused := ss.s.refused[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	fail := ss.s.fail
	ss.s.mu.Unlock()
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m, err := parse(raw)
	if err != nil {
		return err
	}
	m.From, m.To = ss.from, ss.to
	ss.s.add(m)
	return nil
}

// parse reads the headers and the text and HTML parts of a message.
func parse(raw []byte) (*Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	m := &Message{MessageID: msg.Header.Get("Message-Id"), Subject: subject, Raw: raw}
	err = walk(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body, m)
	return m, err
}

func walk(contentType, encoding string, body io.Reader, m *Message) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := walk(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, m); err != nil {
				return err
			}
		}
	}
	b, err := io.ReadAll(decode(encoding, body))
	if err != nil {
		return err
	}
	switch mediaType {
	case "text/plain":
		m.Text = string(b)
	case "text/html":
		m.HTML = string(b)
	}
	return nil
}
