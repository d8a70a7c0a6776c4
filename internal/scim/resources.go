package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// meta is a resource's metadata (RFC 7643 §3.1).
type meta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created"`
	LastModified string `json:"lastModified"`
	Location     string `json:"location"`
	Version      string `json:"version"`
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// userResource is a user as SCIM shows them (RFC 7643 §4.1).
type userResource struct {
	Schemas     []string       `json:"schemas"`
	ID          string         `json:"id"`
	ExternalID  string         `json:"externalId,omitempty"`
	UserName    string         `json:"userName"`
	Name        userName       `json:"name"`
	DisplayName string         `json:"displayName"`
	Emails      []userEmail    `json:"emails"`
	Active      bool           `json:"active"`
	Roles       []userRole     `json:"roles"`
	Groups      []groupRef     `json:"groups"`
	Muster      *userExtension `json:"urn:ietf:params:scim:schemas:extension:muster:2.0:User,omitempty"`
	Meta        meta           `json:"meta"`
}

type userName struct {
	GivenName  string `json:"givenName"`
	FamilyName string `json:"familyName"`
	Formatted  string `json:"formatted"`
}

type userEmail struct {
	Value   string `json:"value"`
	Type    string `json:"type"`
	Primary bool   `json:"primary"`
}

type userRole struct {
	Value   string `json:"value"`
	Display string `json:"display"`
	Primary bool   `json:"primary"`
}

type groupRef struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref"`
	Display string `json:"display"`
	Type    string `json:"type"`
}

// userExtension is Muster's extension of the User schema: the primary
// team's name (writes take its id or name).
type userExtension struct {
	PrimaryTeam string `json:"primaryTeam"`
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// userJSON renders p.
func (s *Server) userJSON(r *http.Request, p *service.ProvisionedUser) userResource {
	u, base := p.User, s.base(r)
	res := userResource{
		Schemas:     []string{SchemaUser, SchemaMuster},
		ID:          id(u.ID),
		ExternalID:  u.ExternalID,
		UserName:    u.Email,
		Name:        userName{GivenName: u.FirstName, FamilyName: u.LastName, Formatted: u.Name()},
		DisplayName: u.Name(),
		Emails:      []userEmail{{Value: u.Email, Type: "work", Primary: true}},
		Active:      u.Status.HoldsSeat(),
		Roles:       []userRole{{Value: u.Role.Label(), Display: u.Role.Label(), Primary: true}},
		Groups:      []groupRef{},
		Meta: meta{ResourceType: "User", Created: timestamp(u.InvitedAt), LastModified: timestamp(u.UpdatedAt),
			Location: base + "/Users/" + id(u.ID), Version: etag(u.Version)},
	}
	for i, t := range p.Teams {
		res.Groups = append(res.Groups, groupRef{Value: id(t.ID), Ref: base + "/Groups/" + id(t.ID), Display: t.Name,
			Type: "direct"})
		if i == 0 {
			res.Muster = &userExtension{PrimaryTeam: t.Name}
		}
	}
	return res
}

// groupResource is a team as SCIM shows it (RFC 7643 §4.2).
type groupResource struct {
	Schemas     []string    `json:"schemas"`
	ID          string      `json:"id"`
	ExternalID  string      `json:"externalId,omitempty"`
	DisplayName string      `json:"displayName"`
	Members     []memberRef `json:"members,omitempty"`
	Meta        meta        `json:"meta"`
}

type memberRef struct {
	Value   string `json:"value"`
	Ref     string `json:"$ref"`
	Display string `json:"display"`
	Type    string `json:"type"`
}

// groupJSON renders p; its members when p has them.
func (s *Server) groupJSON(r *http.Request, p *service.ProvisionedTeam) groupResource {
	t, base := p.Team, s.base(r)
	res := groupResource{Schemas: []string{SchemaGroup}, ID: id(t.ID), ExternalID: t.ExternalID, DisplayName: t.Name,
		Meta: meta{ResourceType: "Group", Created: timestamp(t.CreatedAt), LastModified: timestamp(t.UpdatedAt),
			Location: base + "/Groups/" + id(t.ID), Version: etag(t.Version)}}
	if p.Members != nil {
		res.Members = make([]memberRef, len(p.Members))
		for i, m := range p.Members {
			res.Members[i] = memberRef{Value: id(m.UserID), Ref: base + "/Users/" + id(m.UserID), Display: m.Name, Type: "User"}
		}
	}
	return res
}

// listResponse is a page of resources (RFC 7644 §3.4.2). Resources is
// never null.
type listResponse struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
	Resources    []any    `json:"Resources"`
}

// page is a list request's paging (RFC 7644 §3.4.2.4): startIndex counts
// from 1 (less is 1), count is the page size (0 asks only for the total;
// less is 0; more than MaxResults is MaxResults).
type page struct {
	startIndex, count int
}

func readPage(q url.Values) (page, error) {
	p := page{startIndex: 1, count: DefaultCount}
	for _, param := range []struct {
		name string
		to   *int
	}{{"startIndex", &p.startIndex}, {"count", &p.count}} {
		v := strings.TrimSpace(queryValue(q, param.name))
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, badRequest(TypeInvalidValue, "%s must be a whole number, not %q.", param.name, v)
		}
		*param.to = n
	}
	p.startIndex = max(p.startIndex, 1)
	p.count = min(max(p.count, 0), MaxResults)
	return p, nil
}

// queryValue returns a query parameter named name in any case.
func queryValue(q url.Values, name string) string {
	if v, ok := q[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// projection is what attributes= and excludedAttributes= ask of a
// resource (RFC 7644 §3.4.2.5): names in lower case, of top-level
// attributes or of sub-attributes ("name.givenname"); an extension's
// attribute is its schema's key and the attribute
// ("urn:…:muster:2.0:user.primaryteam").
type projection struct {
	attributes, excluded []string
}

// extensionSchemas are the extensions whose attributes a projection may
// name by their fully qualified names.
var extensionSchemas = []string{SchemaMuster, SchemaEnterprise}

func readProjection(q url.Values, schema string) projection {
	split := func(v string) []string {
		var out []string
		for a := range strings.SplitSeq(v, ",") {
			a = strings.ToLower(strings.TrimSpace(a))
			if rest, ok := strings.CutPrefix(a, strings.ToLower(schema)+":"); ok {
				a = rest
			}
			for _, ext := range extensionSchemas {
				if rest, ok := strings.CutPrefix(a, strings.ToLower(ext)+":"); ok {
					a = strings.ToLower(ext) + "." + rest
				}
			}
			if a != "" {
				out = append(out, a)
			}
		}
		return out
	}
	return projection{attributes: split(queryValue(q, "attributes")), excluded: split(queryValue(q, "excludedAttributes"))}
}

// wants reports whether the projection keeps the top-level attribute.
func (p projection) wants(attr string) bool {
	attr = strings.ToLower(attr)
	for _, a := range p.excluded {
		if a == attr {
			return false
		}
	}
	if len(p.attributes) == 0 {
		return true
	}
	for _, a := range p.attributes {
		if a == attr || strings.HasPrefix(a, attr+".") {
			return true
		}
	}
	return false
}

// always are the attributes every answer has (returned "always").
var always = map[string]bool{"schemas": true, "id": true}

// apply returns v with only the attributes the projection keeps; v itself
// when it asks for none in particular.
func (p projection) apply(v any) (any, error) {
	if len(p.attributes) == 0 && len(p.excluded) == 0 {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, val := range m {
		lk := strings.ToLower(k)
		if always[lk] {
			continue
		}
		if !p.wants(lk) {
			delete(m, k)
			continue
		}
		sub, ok := val.(map[string]any)
		if !ok {
			continue
		}
		// Sub-attributes excluded one by one go.
		for _, a := range p.excluded {
			if s, ok := strings.CutPrefix(a, lk+"."); ok {
				for sk := range sub {
					if strings.EqualFold(s, sk) {
						delete(sub, sk)
					}
				}
			}
		}
		// Sub-attributes asked for one by one (name.givenName) keep only
		// those.
		if len(p.attributes) == 0 {
			continue
		}
		var subs []string
		for _, a := range p.attributes {
			if s, ok := strings.CutPrefix(a, lk+"."); ok {
				subs = append(subs, s)
			} else if a == lk {
				subs = nil
				break
			}
		}
		if len(subs) == 0 {
			continue
		}
		for sk := range sub {
			keep := false
			for _, s := range subs {
				keep = keep || strings.EqualFold(s, sk)
			}
			if !keep {
				delete(sub, sk)
			}
		}
	}
	return m, nil
}

// memberID reads a member's value (a user's id). ok is false for a value
// that can be no user's id.
func memberID(v any) (int64, bool, error) {
	if o, isObj := asObject(v); isObj {
		v, _ = o.get("value")
	}
	s, err := asString("members.value", v)
	if err != nil {
		return 0, false, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil && n > 0, nil
}

// noSuchMember refuses a member that names no user of the org, as the
// service does for a number that is not one of its users' ids.
func noSuchMember(v any) error {
	s, _ := asString("members.value", v)
	if o, ok := asObject(v); ok {
		val, _ := o.get("value")
		s, _ = asString("members.value", val)
	}
	return muster.Errorf(muster.ENOTFOUND, "The organization has no user with the id %q to make a member.", s)
}
