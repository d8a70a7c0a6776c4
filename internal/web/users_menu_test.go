package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
)

// TestUsersMenuOffersOnlyAllowedActions: each row's "…" menu offers what
// the signed-in user may do to that user, never an action that is always
// refused, such as deactivating oneself or the Owner (ROLE-2, CON-3).
func TestUsersMenuOffersOnlyAllowedActions(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	people := map[string]*muster.User{}
	for _, p := range []struct {
		name string
		role muster.Role
	}{{"Ada", muster.RoleAdmin}, {"Abe", muster.RoleAdmin}, {"Meg", muster.RoleManager}} {
		people[p.name] = s.invite(ownerCtx, p.name, "Tester", strings.ToLower(p.name)+"@example.com", p.role)
		s.join(people[p.name].Email, p.name+"'s long password")
	}
	deactivate := func(u *muster.User) string { return fmt.Sprintf("/settings/roles-access/users/%d/deactivate", u.ID) }
	edit := func(u *muster.User) string { return fmt.Sprintf("/settings/roles-access/users/%d/edit", u.ID) }

	olive := s.browser()
	wantRedirect(t, olive.signIn(owner.Email, ownerPassword), "/")
	p := olive.get("/settings/roles-access")
	want(t, p, 200, edit(owner), deactivate(people["Ada"]), deactivate(people["Abe"]), deactivate(people["Meg"]))
	if strings.Contains(p.body, deactivate(owner)) {
		t.Error("the Owner is offered to deactivate themselves")
	}

	ada := s.browser()
	wantRedirect(t, ada.signIn("ada@example.com", "Ada's long password"), "/")
	p = ada.get("/settings/roles-access")
	want(t, p, 200, deactivate(people["Meg"]))
	for _, u := range []*muster.User{owner, people["Ada"], people["Abe"]} {
		if strings.Contains(p.body, deactivate(u)) {
			t.Errorf("an Admin is offered to deactivate %s (%s)", u.Name(), u.Role.Label())
		}
	}
	if strings.Contains(p.body, edit(people["Abe"])) {
		t.Error("an Admin is offered to edit another Admin")
	}
	// What the menu leaves out is still refused if asked for directly.
	want(t, ada.post(deactivate(people["Abe"]), nil), 403)
}
