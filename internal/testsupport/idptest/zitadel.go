package idptest

import (
	"net"
	"net/http/httptest"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

// Zitadel is the github.com/zitadel/oidc/v3 example OpenID Provider: a
// real provider with a login form (labels "Username:" and "Password:", a
// Login button). Its ID tokens carry no email: a relying party reads it
// from UserInfo.
type Zitadel struct {
	URL          string
	ClientID     string
	ClientSecret string
}

// ZitadelUser is a person who can sign in at Zitadel.
type ZitadelUser struct {
	ID         string
	Username   string
	Password   string
	Email      string
	GivenName  string
	FamilyName string
}

// StartZitadel runs the example provider on a loopback port until the test
// ends, with a web client (its ID and secret are the Zitadel's) whose one
// redirect URI is redirectURI, and users.
func StartZitadel(t testing.TB, redirectURI string, users ...ZitadelUser) *Zitadel {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &Zitadel{URL: "http://" + ln.Addr().String(), ClientID: "muster-" + randomString()[:10],
		ClientSecret: randomString()}
	// The example's clients are a package-wide map; each test adds its own.
	storage.RegisterClients(storage.WebClient(z.ClientID, z.ClientSecret, redirectURI))
	store := zitadelUsers{}
	for _, u := range users {
		store[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, FirstName: u.GivenName,
			LastName: u.FamilyName, Email: u.Email, EmailVerified: true}
	}
	srv := httptest.NewUnstartedServer(exampleop.SetupServer(z.URL, storage.NewStorage(store), nil, false))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return z
}

// zitadelUsers is the example storage's user store, by user ID.
type zitadelUsers map[string]*storage.User

func (u zitadelUsers) GetUserByID(id string) *storage.User { return u[id] }

func (u zitadelUsers) GetUserByUsername(name string) *storage.User {
	for _, user := range u {
		if user.Username == name {
			return user
		}
	}
	return nil
}

func (u zitadelUsers) ExampleClientID() string { return storage.ServiceUserID }
