package scim_test

import (
	"net/http"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/browsertest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestBrowserSCIMDeactivationEndsSession: a person provisioned through
// SCIM joins and is signed in to the console in Chromium; their identity
// provider deactivates them; the very next page they open is the sign-in
// page, saying their session has ended (DEA-1).
func TestBrowserSCIMDeactivationEndsSession(t *testing.T) {
	b := browsertest.Chromium(t)
	o := newOrg(t, storetest.OpenSQLite(t), 5)
	userName := email("Leo.Leaver")
	userID := o.idp.do("POST", "/Users", newUser(userName, "Leo", "Leaver")).want(http.StatusCreated).str("id")
	o.acceptLatest(userName)

	b.SignIn(o.srv.URL, userName, "a long enough secret")
	b.Sees("signed in", "Leo Leaver", "Default Team")

	o.idp.do("PATCH", "/Users/"+userID, patch(op("Replace", "active", "False"))).want(http.StatusOK).wantEqual("active", false)

	b.Open("the next page", o.srv.URL+"/account/sessions")
	b.Sees("signed out", "Your session has ended. Please sign in again.")
	b.SeesNot("signed out", "Leo Leaver")
}
