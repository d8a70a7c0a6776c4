package scim_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestAuditAndActivity: every change made through SCIM is an audit event
// whose actor is the token and whose origin is "scim token N", and the
// Owner sees them on Settings → Provisioning (SCIM), newest first.
func TestAuditAndActivity(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 10)
		userName := email("Avery.Audit")
		userID := o.idp.do("POST", "/Users", newUser(userName, "Avery", "Audit")).want(http.StatusCreated).str("id")
		o.idp.do("PATCH", "/Users/"+userID, patch(op("replace", "name.givenName", "Averil"))).want(http.StatusOK)
		teamID := o.idp.do("POST", "/Groups", map[string]any{"displayName": "Auditors", "members": []any{
			map[string]any{"value": userID}}}).want(http.StatusCreated).str("id")
		o.idp.do("PATCH", "/Groups/"+teamID, patch(op("replace", "displayName", "Inspectors"))).want(http.StatusNoContent)
		o.idp.do("PATCH", "/Users/"+userID, patch(op("replace", "active", false))).want(http.StatusOK)
		o.idp.do("DELETE", "/Users/"+userID, nil).want(http.StatusNoContent)

		origin := fmt.Sprintf("scim token %d", o.tokenID)
		label := fmt.Sprintf("SCIM token %q (#%d)", "Okta", o.tokenID)
		wantActions := []string{muster.ActionUserSCIMDeleted, muster.ActionInviteWithdrawn, muster.ActionTeamRenamed,
			muster.ActionUserUpdated, muster.ActionTeamCreated, muster.ActionUserUpdated, muster.ActionUserInvited}
		prov, err := o.svc.FindProvisioning(o.ownerCtx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range prov.Activity {
			got = append(got, e.Action)
			if e.Origin != origin || e.ActorLabel != label || e.ActorID != 0 {
				t.Fatalf("event %s: actor %q (%d), origin %q; want %q, %q", e.Action, e.ActorLabel, e.ActorID, e.Origin, label, origin)
			}
		}
		if strings.Join(got, ",") != strings.Join(wantActions, ",") {
			t.Fatalf("SCIM activity %v; want %v", got, wantActions)
		}
		// The token's creation was the Owner's, in the console: not SCIM's.
		if created := o.auditTrail(muster.ActionSCIMTokenCreated); len(created) != 1 || created[0].ActorID != o.owner.ID {
			t.Fatalf("the token's creation: %+v", created)
		}

		// The console: the Owner signs in and opens the page.
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		browser := &http.Client{Jar: jar}
		res, err := browser.PostForm(o.srv.URL+"/signin", url.Values{"email": {o.owner.Email}, "password": {ownerPassword}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		res, err = browser.Get(o.srv.URL + "/settings/provisioning")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		body := string(page)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("the Provisioning page: %d\n%s", res.StatusCode, body)
		}
		// Each change in the console's words (the audit log's sentences).
		for _, want := range []string{o.srv.URL + "/scim/v2", "Okta", "deleted Averil Audit through SCIM",
			"renamed the team Auditors to Inspectors", "first name from Avery to Averil", "SCIM token &#34;Okta&#34; (#"} {
			if !strings.Contains(body, want) {
				t.Fatalf("the Provisioning page lacks %q:\n%s", want, body)
			}
		}
	})
}
