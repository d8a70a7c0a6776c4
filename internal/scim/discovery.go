package scim

import (
	"net/http"
	"strings"
)

// The discovery endpoints (RFC 7644 §4): what Muster supports, exactly.

type supported struct {
	Supported bool `json:"supported"`
}

type serviceProviderConfig struct {
	Schemas          []string   `json:"schemas"`
	DocumentationURI string     `json:"documentationUri"`
	Patch            supported  `json:"patch"`
	Bulk             bulkConfig `json:"bulk"`
	Filter           struct {
		Supported  bool `json:"supported"`
		MaxResults int  `json:"maxResults"`
	} `json:"filter"`
	ChangePassword        supported              `json:"changePassword"`
	Sort                  supported              `json:"sort"`
	ETag                  supported              `json:"etag"`
	AuthenticationSchemes []authenticationScheme `json:"authenticationSchemes"`
	Meta                  discoveryMeta          `json:"meta"`
}

type bulkConfig struct {
	Supported      bool `json:"supported"`
	MaxOperations  int  `json:"maxOperations"`
	MaxPayloadSize int  `json:"maxPayloadSize"`
}

type authenticationScheme struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Primary     bool   `json:"primary"`
}

type discoveryMeta struct {
	ResourceType string `json:"resourceType"`
	Location     string `json:"location"`
}

// DocumentationURI is where the set-up for Okta and Entra ID is described.
const DocumentationURI = "https://github.com/muster-app/muster/blob/main/docs/scim.md"

func (s *Server) handleServiceProviderConfig(w http.ResponseWriter, r *http.Request) error {
	c := serviceProviderConfig{Schemas: []string{SchemaSPConfig}, DocumentationURI: DocumentationURI,
		Patch: supported{true}, ETag: supported{true},
		AuthenticationSchemes: []authenticationScheme{{Type: "oauthbearertoken", Name: "OAuth Bearer Token",
			Description: "A SCIM token from Settings → Provisioning (SCIM), sent as Authorization: Bearer mscim_…",
			Primary:     true}},
		Meta: discoveryMeta{ResourceType: "ServiceProviderConfig", Location: s.base(r) + "/ServiceProviderConfig"}}
	c.Filter.Supported, c.Filter.MaxResults = true, MaxResults
	return writeJSON(w, http.StatusOK, c)
}

type resourceType struct {
	Schemas          []string          `json:"schemas"`
	ID               string            `json:"id"`
	Name             string            `json:"name"`
	Endpoint         string            `json:"endpoint"`
	Description      string            `json:"description"`
	Schema           string            `json:"schema"`
	SchemaExtensions []schemaExtension `json:"schemaExtensions"`
	Meta             discoveryMeta     `json:"meta"`
}

type schemaExtension struct {
	Schema   string `json:"schema"`
	Required bool   `json:"required"`
}

func (s *Server) resourceTypes(r *http.Request) []resourceType {
	base := s.base(r)
	return []resourceType{
		{Schemas: []string{SchemaResourceType}, ID: "User", Name: "User", Endpoint: "/Users",
			Description: "A person in the organization", Schema: SchemaUser,
			SchemaExtensions: []schemaExtension{{Schema: SchemaMuster, Required: false}},
			Meta:             discoveryMeta{ResourceType: "ResourceType", Location: base + "/ResourceTypes/User"}},
		{Schemas: []string{SchemaResourceType}, ID: "Group", Name: "Group", Endpoint: "/Groups",
			Description: "A team of the organization", Schema: SchemaGroup, SchemaExtensions: []schemaExtension{},
			Meta: discoveryMeta{ResourceType: "ResourceType", Location: base + "/ResourceTypes/Group"}},
	}
}

// writeAll answers with every one of items, in one page.
func writeAll[T any](w http.ResponseWriter, items []T) error {
	list := listResponse{Schemas: []string{MessageList}, TotalResults: len(items), StartIndex: 1, ItemsPerPage: len(items),
		Resources: make([]any, len(items))}
	for i, item := range items {
		list.Resources[i] = item
	}
	return writeJSON(w, http.StatusOK, list)
}

// writeNamed answers with the one of items whose id is name, in any case,
// or refuses with missing.
func writeNamed[T any](w http.ResponseWriter, items []T, id func(T) string, name, missing string) error {
	for _, item := range items {
		if strings.EqualFold(id(item), name) {
			return writeJSON(w, http.StatusOK, item)
		}
	}
	return &Error{Status: http.StatusNotFound, Detail: missing}
}

func (s *Server) handleResourceTypes(w http.ResponseWriter, r *http.Request) error {
	return writeAll(w, s.resourceTypes(r))
}

func (s *Server) handleResourceType(w http.ResponseWriter, r *http.Request) error {
	return writeNamed(w, s.resourceTypes(r), func(t resourceType) string { return t.ID }, r.PathValue("name"),
		"There is no such resource type: Muster has User and Group.")
}

// attribute describes an attribute of a schema (RFC 7643 §7).
type attribute struct {
	Name            string      `json:"name"`
	Type            string      `json:"type"`
	MultiValued     bool        `json:"multiValued"`
	Description     string      `json:"description"`
	Required        bool        `json:"required"`
	CaseExact       bool        `json:"caseExact"`
	Mutability      string      `json:"mutability"`
	Returned        string      `json:"returned"`
	Uniqueness      string      `json:"uniqueness"`
	CanonicalValues []string    `json:"canonicalValues,omitempty"`
	ReferenceTypes  []string    `json:"referenceTypes,omitempty"`
	SubAttributes   []attribute `json:"subAttributes,omitempty"`
}

// attr is an attribute with the defaults most have: a single string that
// a client reads and writes, compared ignoring case, returned by default.
func attr(name, description string, opts ...func(*attribute)) attribute {
	a := attribute{Name: name, Type: "string", Description: description, Mutability: "readWrite",
		Returned: "default", Uniqueness: "none"}
	for _, o := range opts {
		o(&a)
	}
	return a
}

func typed(t string) func(*attribute)      { return func(a *attribute) { a.Type = t } }
func mutability(m string) func(*attribute) { return func(a *attribute) { a.Mutability = m } }
func required(a *attribute)                { a.Required = true }
func multi(a *attribute)                   { a.MultiValued = true }
func unique(a *attribute)                  { a.Uniqueness = "server" }
func subs(s ...attribute) func(*attribute) {
	return func(a *attribute) { a.Type, a.SubAttributes = "complex", s }
}
func canonical(v ...string) func(*attribute) { return func(a *attribute) { a.CanonicalValues = v } }
func refs(t ...string) func(*attribute) {
	return func(a *attribute) { a.Type, a.ReferenceTypes = "reference", t }
}

type schema struct {
	Schemas     []string      `json:"schemas"`
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Attributes  []attribute   `json:"attributes"`
	Meta        discoveryMeta `json:"meta"`
}

// schemas are the attributes Muster keeps, and nothing else: attributes
// of the User schema it does not keep (phone numbers, addresses, title…)
// and the enterprise extension are accepted and ignored, so they are not
// listed. id, externalId and meta are common to every resource (RFC 7643
// §3.1), not attributes of a schema.
func (s *Server) schemas(r *http.Request) []schema {
	base := s.base(r)
	ro := mutability("readOnly")
	user := []attribute{
		attr("userName", "The user's email address, with which they sign in. Unique in the deployment, compared "+
			"ignoring case. It does not change.", required, unique),
		attr("name", "The user's name.", subs(
			attr("givenName", "First name: 1 to 100 characters.", required),
			attr("familyName", "Last name: 1 to 100 characters.", required),
			attr("formatted", "The full name, made from the first and last names.", ro))),
		attr("displayName", "The full name, made from the first and last names.", ro),
		attr("emails", "The user's work email: always the userName.", multi, ro, subs(
			attr("value", "The email address.", ro),
			attr("type", "Always work.", ro, canonical("work")),
			attr("primary", "Always true.", ro, typed("boolean")))),
		attr("active", "True while the user holds a seat (Pending or Active). False deactivates an Active user and "+
			"withdraws a Pending user's invitation; true invites a deactivated user again.", typed("boolean")),
		attr("roles", "The user's one role: Admin, Manager or Basic User (the Owner is shown, never given). "+
			"Basic User when a user is created without one; unchanged when an update has none.", multi, subs(
			attr("value", "The role.", canonical("Admin", "Manager", "Basic User")),
			attr("display", "The role.", ro),
			attr("primary", "Always true.", typed("boolean")))),
		attr("groups", "The user's teams, the primary team first. Change them through the Groups' members.",
			multi, ro, subs(
				attr("value", "The team's id.", ro),
				attr("$ref", "The team's URI.", ro, refs("Group")),
				attr("display", "The team's name.", ro),
				attr("type", "Always direct.", ro, canonical("direct")))),
	}
	group := []attribute{
		attr("displayName", "The team's name: 1 to 100 characters, unique in the organization ignoring case. The "+
			"Default Team is not renamed.", required, unique),
		attr("members", "The Pending and Active users who have the team as primary or secondary team. A member "+
			"added gets the team as a secondary team; a member removed from their primary team moves to the Default Team.",
			multi, subs(
				attr("value", "The user's id.", mutability("immutable")),
				attr("$ref", "The user's URI.", mutability("immutable"), refs("User")),
				attr("display", "The user's name.", ro),
				attr("type", "Always User.", mutability("immutable"), canonical("User")))),
	}
	ext := []attribute{
		attr("primaryTeam", "The user's primary team: its id or name (in any case) when written, its name when read; "+
			"the Default Team when a user is created without one or it is cleared."),
	}
	def := func(id, name, description string, attrs []attribute) schema {
		return schema{Schemas: []string{SchemaSchema}, ID: id, Name: name, Description: description, Attributes: attrs,
			Meta: discoveryMeta{ResourceType: "Schema", Location: base + "/Schemas/" + id}}
	}
	return []schema{
		def(SchemaUser, "User", "A person in the organization", user),
		def(SchemaGroup, "Group", "A team of the organization", group),
		def(SchemaMuster, "Muster User", "What Muster keeps of a user beside the core schema", ext),
	}
}

func (s *Server) handleSchemas(w http.ResponseWriter, r *http.Request) error {
	return writeAll(w, s.schemas(r))
}

func (s *Server) handleSchema(w http.ResponseWriter, r *http.Request) error {
	return writeNamed(w, s.schemas(r), func(sc schema) string { return sc.ID }, r.PathValue("id"),
		"There is no such schema. Muster has "+SchemaUser+", "+SchemaGroup+" and "+SchemaMuster+".")
}
