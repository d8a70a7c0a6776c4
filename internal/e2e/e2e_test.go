// Package e2e_test runs the real muster binary as child processes: killed
// and restarted, or several at once on one PostgreSQL.
package e2e_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func TestMain(m *testing.M) { testsupport.Main(m) }

// server is a running muster serve.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	logs *testsupport.Buffer
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts muster serve with args and waits until it is ready.
func serve(t testing.TB, args ...string) *server {
	t.Helper()
	s := start(t, args...)
	s.waitReady()
	return s
}

// start starts muster serve with args and returns at once: its background
// jobs may run before it answers requests.
func start(t testing.TB, args ...string) *server {
	t.Helper()
	addr := freePort(t)
	s := &server{t: t, URL: "http://" + addr, logs: &testsupport.Buffer{}}
	s.cmd = exec.Command(testsupport.Muster(t), append([]string{"serve", "--addr", addr, "--base-url", s.URL}, args...)...)
	s.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server %s log:\n%s", s.URL, s.logs.String())
		}
	})
	return s
}

// waitReady waits until the server answers /readyz.
func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(s.URL + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("muster serve did not become ready:\n%s", s.logs.String())
}

// kill ends the server with SIGKILL, as a crash would, and waits until it
// is gone.
func (s *server) kill() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.t.Fatal(err)
	}
	// Wait reports the kill ("signal: killed"); that is the expected end.
	if err := s.cmd.Wait(); s.cmd.ProcessState == nil {
		s.t.Fatalf("waiting for the killed server: %v", err)
	}
}

// stop ends the server with SIGTERM and waits until it has stopped
// cleanly, so that it sends nothing more.
func (s *server) stop() {
	s.t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			s.t.Fatalf("the server did not stop cleanly on SIGTERM: %v\n%s", err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		s.t.Fatalf("the server did not stop within 30s of SIGTERM:\n%s", s.logs.String())
	}
}

// org creates an org through the service on the same database and returns
// the Owner's context; the Owner has accepted.
func org(t *testing.T, db *sqlstore.DB, svc *service.Service) (context.Context, *muster.Team) {
	t.Helper()
	res, err := svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: 20, OwnerEmail: "owner@example.com", OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	accept(t, svc, res.SetupURL)
	ctx := muster.NewContext(context.Background(), muster.Principal{UserID: res.Owner.ID, OrgID: res.Org.ID, Origin: "test"})
	listed, err := svc.Teams(ctx, service.TeamListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	teams := listed.Teams
	return ctx, teams[0]
}

func accept(t *testing.T, svc *service.Service, link string) *muster.User {
	t.Helper()
	in, err := svc.AcceptInvitation(context.Background(), link[strings.LastIndex(link, "/")+1:], "a long enough secret",
		service.Client{IP: "127.0.0.1", Origin: "web " + "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	return in.User
}

func invite(t *testing.T, svc *service.Service, owner context.Context, team *muster.Team, name string, role muster.Role) *service.Invited {
	t.Helper()
	res, err := svc.Invite(owner, service.InviteInput{FirstName: name, LastName: "Test", Email: strings.ToLower(name) + "@example.com",
		Role: role, PrimaryTeamID: team.ID})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCommittedMailSurvivesSIGKILL: with the SMTP server down, invitations
// are committed and the server is killed with SIGKILL; once SMTP and the
// server are back, every committed email arrives exactly once (INV-6).
func TestCommittedMailSurvivesSIGKILL(t *testing.T) {
	smtp := mailtest.Start(t)
	smtp.Stop()
	dbPath := filepath.Join(t.TempDir(), "muster.db")
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})

	args := []string{"--db", dbPath, "--smtp", smtp.URL(), "--mail-from", "muster@example.com", "--mail-retry", "200ms"}
	first := serve(t, args...)
	owner, team := org(t, db, svc)
	for _, name := range []string{"Ann", "Bob", "Cid", "Dot", "Eve"} {
		invite(t, svc, owner, team, name, muster.RoleBasic)
	}
	const want = 6 // the Owner's set-up email and five invitations
	// The kill comes once the sender has tried every email against the
	// closed port and recorded the failure.
	waitOutbox(t, db, team.OrgID, "every email tried once and refused", func(msgs []*muster.OutboxMessage) bool {
		for _, m := range msgs {
			if m.Attempts == 0 || m.LastError == "" {
				return false
			}
		}
		return len(msgs) == want
	})
	first.kill()
	if n := len(smtp.Messages()); n != 0 {
		t.Fatalf("%d emails arrived while SMTP was down", n)
	}

	smtp.Restart(t)
	second := serve(t, args...)
	smtp.WaitFor(t, want, 30*time.Second)
	// Once the outbox holds every email as sent, no sender claims one
	// again; stopping the server ends any delivery still under way. What
	// has arrived then is all that ever will.
	waitOutbox(t, db, team.OrgID, "every email sent", allSent)
	second.stop()
	msgs := smtp.Messages()
	seen := map[string]bool{}
	for _, m := range msgs {
		if m.MessageID == "" || seen[m.MessageID] {
			t.Fatalf("Message-ID %q arrived twice or is empty", m.MessageID)
		}
		seen[m.MessageID] = true
	}
	if len(msgs) != want {
		t.Fatalf("%d emails arrived; want %d, each once", len(msgs), want)
	}
}

// browser keeps cookies. Cookies do not tell ports apart, so one browser
// carries its session to every instance on 127.0.0.1, as a load balancer in
// front of them would.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (int, string, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("reading %s: %v", u, err)
	}
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

// TestTwoInstancesOnePostgres: a session works on both instances;
// deactivation through one ends it on the other at its next request (DEA-1).
func TestTwoInstancesOnePostgres(t *testing.T) {
	dbURL := storetest.PostgresSchema(t)
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})
	owner, team := org(t, db, svc)
	dee := accept(t, svc, invite(t, svc, owner, team, "Dee", muster.RoleManager).Link)
	token, err := svc.CreateAPIToken(owner, "e2e", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	a, b := serve(t, "--db", dbURL), serve(t, "--db", dbURL)
	person := browser(t)
	res, err := person.PostForm(a.URL+"/signin", url.Values{"email": {dee.Email}, "password": {"a long enough secret"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in on A: %d", res.StatusCode)
	}
	for _, s := range []*server{a, b} {
		if status, _, body := get(t, person, s.URL+"/"); status != 200 || !strings.Contains(body, "Dee Test") {
			t.Fatalf("profile on %s: %d", s.URL, status)
		}
	}

	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/users/%d/deactivate", a.URL, dee.ID), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token.Secret)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("deactivate through A: %d", res.StatusCode)
	}
	status, location, _ := get(t, person, b.URL+"/")
	if status != http.StatusSeeOther || location != "/signin?notice=session-ended" {
		t.Fatalf("Dee's next request on B: %d %q; want the sign-in page", status, location)
	}
}
