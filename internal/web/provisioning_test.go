package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// TestProvisioningPage: the Owner opens Settings → Provisioning (SCIM)
// from the sidebar, sees the SCIM base URL and creates a SCIM token that
// is shown once and names its creator; an Admin sees the page without the
// form (a token can make Admins), is refused a token, sees what the
// token changed and revokes it.
func TestProvisioningPage(t *testing.T) {
	s := newSite(t)
	_, ownerCtx := s.org()
	s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	b := s.join("ada@example.com", "ada's long password")
	owner := s.browser()
	owner.signIn(s.ownerEmail, ownerPassword)

	want(t, owner.get("/settings/organization"), 200, `<a href="/settings/provisioning">Provisioning (SCIM)</a>`)
	want(t, owner.get("/settings/provisioning"), 200, "Provisioning (SCIM)", s.srv.URL+"/scim/v2", "No SCIM tokens yet",
		"No changes through SCIM yet", `<label for="name">Token name</label>`)
	want(t, owner.post("/settings/provisioning/tokens", url.Values{"name": {" "}}), 422, "Token name is required.")
	adminPage := b.get("/settings/provisioning")
	want(t, adminPage, 200, "Only the Owner creates SCIM tokens")
	if strings.Contains(adminPage.body, `action="/settings/provisioning/tokens"`) {
		t.Fatal("an Admin is offered the Create form")
	}
	want(t, b.post("/settings/provisioning/tokens", url.Values{"name": {"Mine"}}), http.StatusForbidden,
		"Only the Owner can create SCIM tokens")
	p := owner.post("/settings/provisioning/tokens", url.Values{"name": {"Okta"}})
	want(t, p, 200, "Copy your new SCIM token now", "Okta", "Olive Owner &lt;"+s.ownerEmail+"&gt;", "Never")
	secret := p.body[strings.Index(p.body, `value="mscim_`)+7:]
	secret = secret[:strings.Index(secret, `"`)]
	tok, err := s.svc.AuthenticateSCIMToken(context.Background(), secret)
	if err != nil {
		t.Fatalf("the token shown does not work: %v", err)
	}
	if _, err := s.svc.AuthenticateAPIToken(context.Background(), secret); err == nil {
		t.Fatal("the SCIM token works as an API token")
	}

	// The identity provider invites someone: the page lists it.
	scim := muster.NewContext(context.Background(), muster.Principal{OrgID: tok.OrgID, SCIMTokenID: tok.ID,
		Origin: muster.SCIMOrigin(tok.ID)})
	if _, err := s.svc.ProvisionUser(scim, service.UserDraft{Email: "ivy@example.com", FirstName: "Ivy", LastName: "Idp",
		Active: true}); err != nil {
		t.Fatal(err)
	}
	page := b.get("/settings/provisioning")
	want(t, page, 200, fmt.Sprintf("SCIM token &#34;Okta&#34; (#%d) invited Ivy Idp as a Basic User", tok.ID))
	if strings.Contains(page.body, secret) {
		t.Fatal("the token is shown again")
	}

	want(t, b.follow(b.post(fmt.Sprintf("/settings/provisioning/tokens/%d/revoke", tok.ID), nil)), 200,
		"The SCIM token has been revoked", "No SCIM tokens yet")
	if _, err := s.svc.AuthenticateSCIMToken(context.Background(), secret); err == nil {
		t.Fatal("a revoked SCIM token still works")
	}
	want(t, b.post(fmt.Sprintf("/settings/provisioning/tokens/%d/revoke", tok.ID), nil), http.StatusNotFound)
}
