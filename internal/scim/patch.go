package scim

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// operation is one operation of a PATCH (RFC 7644 §3.5.2), as Okta and
// Entra ID send them: the op's name in any case, a path or none, a value.
type operation struct {
	op       string // "add", "replace" or "remove"
	path     string
	value    any
	hasValue bool
}

// maxOperations bounds a PATCH's operations.
const maxOperations = 10_000

// readPatch reads a PatchOp body.
func readPatch(body object) ([]operation, error) {
	raw, ok := body.get("Operations")
	list, isList := raw.([]any)
	if !ok || !isList || len(list) == 0 {
		return nil, badRequest(TypeInvalidSyntax, `A PATCH body holds "Operations": a list of operations, `+
			`each like {"op": "replace", "path": "active", "value": false}.`)
	}
	if len(list) > maxOperations {
		return nil, &Error{Status: 413, ScimType: TypeTooMany, Detail: "A PATCH holds at most 10,000 operations."}
	}
	ops := make([]operation, 0, len(list))
	for i, item := range list {
		o, ok := asObject(item)
		if !ok {
			return nil, badRequest(TypeInvalidSyntax, "Operation %d is not an object.", i+1)
		}
		name, _ := o.get("op")
		n, _ := name.(string)
		op := operation{op: strings.ToLower(strings.TrimSpace(n))}
		if op.op != "add" && op.op != "replace" && op.op != "remove" {
			return nil, badRequest(TypeInvalidSyntax, "Operation %d's op is %q; it must be add, replace or remove.", i+1, n)
		}
		if p, ok := o.get("path"); ok && p != nil {
			s, isString := p.(string)
			if !isString {
				return nil, badRequest(TypeInvalidPath, "Operation %d's path must be a string.", i+1)
			}
			op.path = strings.TrimSpace(s)
		}
		op.value, op.hasValue = o.get("value")
		switch {
		case op.op == "remove" && op.path == "":
			return nil, badRequest(TypeNoTarget, "Operation %d removes without a path: say what to remove.", i+1)
		case op.op != "remove" && !op.hasValue:
			return nil, badRequest(TypeInvalidValue, "Operation %d (%s) has no value.", i+1, op.op)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// Namespaces of a target.
const (
	nsCore   = ""
	nsMuster = "muster"
	nsIgnore = "ignore" // an extension Muster does not keep (enterprise…)
)

// target is what an operation's path names (RFC 7644 §3.5.2): an
// attribute, in lower case, of a namespace, with a sub-attribute and, for
// a multi-valued attribute, a filter of its values.
type target struct {
	ns     string
	attr   string
	sub    string
	filter filter.Expression
	// name is the attribute as the request names it, for messages.
	name string
}

// parseTarget reads a path (or a key of a path-less operation's value) of
// a resource whose core schema is schema. A path that is a schema's URN
// alone names the whole namespace (attr "").
func parseTarget(path, schema string) (t target, err error) {
	switch {
	case strings.EqualFold(path, schema):
		return target{ns: nsCore}, nil
	case strings.EqualFold(path, SchemaMuster) && schema == SchemaUser:
		return target{ns: nsMuster}, nil
	case strings.EqualFold(path, SchemaEnterprise):
		return target{ns: nsIgnore}, nil
	}
	defer func() {
		if p := recover(); p != nil {
			t, err = target{}, badRequest(TypeInvalidPath, "The path %q could not be read.", path)
		}
	}()
	p, perr := filter.ParsePath([]byte(path))
	if perr != nil {
		return target{}, badRequest(TypeInvalidPath, "The path %q could not be read: write it like "+
			`name.givenName or members[value eq "12"] (RFC 7644 §3.5.2).`, path)
	}
	t = target{attr: strings.ToLower(p.AttributePath.AttributeName), filter: p.ValueExpression,
		name: p.AttributePath.AttributeName}
	t.sub = strings.ToLower(p.AttributePath.SubAttributeName())
	if p.SubAttribute != nil {
		t.sub = strings.ToLower(*p.SubAttribute)
	}
	switch uri := p.AttributePath.URI(); {
	case uri == "" || strings.EqualFold(uri, schema):
		t.ns = nsCore
	case strings.EqualFold(uri, SchemaMuster) && schema == SchemaUser:
		t.ns = nsMuster
	default:
		t.ns = nsIgnore
	}
	return t, nil
}

// applier applies one operation on a target to a draft.
type applier func(op operation, t target, value any) error

// applyPatch applies ops in order with apply. A path-less add or replace
// (or one whose path is a schema's URN) sets each attribute its value
// object holds, whose keys may be dotted (name.givenName) and
// URN-prefixed.
func applyPatch(ops []operation, schema string, apply applier) error {
	for _, op := range ops {
		t := target{ns: nsCore}
		if op.path != "" {
			var err error
			if t, err = parseTarget(op.path, schema); err != nil {
				return err
			}
		}
		if t.attr != "" {
			if err := apply(op, t, op.value); err != nil {
				return err
			}
			continue
		}
		if err := applyObject(op, t.ns, op.value, schema, apply); err != nil {
			return err
		}
	}
	return nil
}

// applyObject applies each attribute of an add's or replace's value object
// in namespace ns.
func applyObject(op operation, ns string, value any, schema string, apply applier) error {
	if ns == nsIgnore {
		return nil
	}
	if op.op == "remove" {
		return badRequest(TypeNoTarget, "Remove a schema's attributes one by one, each by its path.")
	}
	obj, ok := asObject(value)
	if !ok {
		return badRequest(TypeInvalidValue, "Without a path, an operation's value must be an object of attributes, "+
			`like {"active": false}.`)
	}
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		v := obj[key]
		if strings.EqualFold(key, "schemas") {
			continue
		}
		var t target
		if ns == nsMuster {
			t = target{ns: nsMuster, attr: strings.ToLower(key), name: key}
		} else {
			var err error
			if t, err = parseTarget(key, schema); err != nil {
				return err
			}
		}
		if t.attr == "" {
			if err := applyObject(op, t.ns, v, schema, apply); err != nil {
				return err
			}
			continue
		}
		if err := apply(op, t, v); err != nil {
			return err
		}
	}
	return nil
}

// readOnly are attributes a client sends back that are not its to set:
// ignored (Okta's PUT sends id, meta and "groups": []).
var readOnly = map[string]bool{"id": true, "meta": true, "schemas": true}

// ignoredUserAttributes are the User schema's attributes Muster does not
// keep: accepted and ignored, never refused. displayName is made from the
// name; emails is the userName.
var ignoredUserAttributes = map[string]bool{
	"displayname": true, "nickname": true, "profileurl": true, "title": true, "usertype": true,
	"preferredlanguage": true, "locale": true, "timezone": true, "password": true, "phonenumbers": true,
	"ims": true, "photos": true, "addresses": true, "entitlements": true, "x509certificates": true,
	"emails": true, "groups": true,
}

// userPatch applies PATCH operations to a user's draft.
func userPatch(ops []operation) func(*service.UserDraft) error {
	return func(d *service.UserDraft) error {
		return applyPatch(ops, SchemaUser, func(op operation, t target, v any) error { return applyUser(d, op, t, v) })
	}
}

// applyUser applies one operation on one attribute of a user.
func applyUser(d *service.UserDraft, op operation, t target, v any) error {
	remove := op.op == "remove"
	switch t.ns {
	case nsIgnore:
		return nil
	case nsMuster:
		if t.attr != "primaryteam" {
			return badRequest(TypeInvalidPath, "Muster's extension has primaryTeam only, not %q.", t.name)
		}
		team, err := optionalString(op, "primaryTeam", v)
		d.PrimaryTeam = team
		return err
	}
	switch {
	case readOnly[t.attr] || ignoredUserAttributes[t.attr]:
		return nil
	case t.attr == "active":
		if remove {
			return badRequest(TypeInvalidValue, "active can't be removed: set it to false to deactivate the user.")
		}
		active, err := asBool("active", v)
		d.Active = active
		return err
	case t.attr == "username":
		if remove {
			return badRequest(TypeMutability, "userName, the user's email, can't be removed.")
		}
		s, err := asString("userName", v)
		d.Email = strings.TrimSpace(s)
		return err
	case t.attr == "externalid":
		s, err := optionalString(op, "externalId", v)
		d.ExternalID = s
		return err
	case t.attr == "name":
		return applyName(d, op, t.sub, v)
	case t.attr == "roles":
		return applyRoles(d, op, t, v)
	}
	return badRequest(TypeInvalidPath, "Users have no attribute %q.", t.name)
}

// applyName applies an operation on name or one of its sub-attributes.
func applyName(d *service.UserDraft, op operation, sub string, v any) error {
	if sub == "" {
		if op.op == "remove" {
			d.FirstName, d.LastName = "", ""
			return nil
		}
		obj, ok := asObject(v)
		if !ok {
			return badRequest(TypeInvalidValue, `name must be an object like {"givenName": "Ada", "familyName": "Lovelace"}.`)
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if err := applyName(d, op, strings.ToLower(k), obj[k]); err != nil {
				return err
			}
		}
		return nil
	}
	var to *string
	switch sub {
	case "givenname":
		to = &d.FirstName
	case "familyname":
		to = &d.LastName
	case "formatted", "middlename", "honorificprefix", "honorificsuffix":
		return nil // made from the first and last names, or not kept
	default:
		return badRequest(TypeInvalidPath, "name has no sub-attribute %q.", sub)
	}
	s, err := optionalString(op, "name."+sub, v)
	*to = s
	return err
}

// optionalString is the string an operation sets an optional attribute
// to: its value, or "" for a remove, an empty string or null (RFC 7644
// §3.5.2.3: clearing it).
func optionalString(op operation, attr string, v any) (string, error) {
	if op.op == "remove" {
		return "", nil
	}
	return asString(attr, v)
}

// applyRoles applies an operation on roles: a user has one role, which an
// add or replace sets (a list's primary value, else its first) and a remove
// takes back to Basic User: a remove that names roles, by a filter or by a
// list of values (as Entra ID sends), only when the user's is among them.
func applyRoles(d *service.UserDraft, op operation, t target, v any) error {
	if t.sub != "" && t.sub != "value" {
		return nil // display, primary, type: not kept
	}
	if op.op != "remove" {
		role, err := roleValue(v)
		d.Role = role
		return err
	}
	if t.filter != nil {
		// roles[value eq "Admin"] takes the role away only from an Admin.
		if ae, ok := t.filter.(*filter.AttributeExpression); ok && strings.EqualFold(ae.AttributePath.AttributeName, "value") {
			name, err := filterValue(ae.CompareValue)
			if err != nil {
				return err
			}
			if role, err := parseRole(name); err != nil || role != d.Role {
				return nil
			}
		}
	} else if v != nil {
		named, err := roleValues(v)
		if err != nil || !slices.Contains(named, d.Role) {
			return err
		}
	}
	d.Role = muster.RoleBasic
	return nil
}

// groupPatch applies PATCH operations to a team's draft.
func groupPatch(ops []operation) func(*service.TeamDraft) error {
	return func(d *service.TeamDraft) error {
		return applyPatch(ops, SchemaGroup, func(op operation, t target, v any) error { return applyGroup(d, op, t, v) })
	}
}

// applyGroup applies one operation on one attribute of a group.
func applyGroup(d *service.TeamDraft, op operation, t target, v any) error {
	remove := op.op == "remove"
	switch {
	case t.ns == nsIgnore || readOnly[t.attr]:
		return nil
	case t.ns != nsCore:
		return badRequest(TypeInvalidPath, "Groups have no attribute %q.", t.name)
	case t.attr == "displayname":
		if remove {
			return badRequest(TypeInvalidValue, "displayName, the team's name, can't be removed.")
		}
		s, err := asString("displayName", v)
		d.Name = s
		return err
	case t.attr == "externalid":
		s, err := optionalString(op, "externalId", v)
		d.ExternalID = s
		return err
	case t.attr == "members":
		if t.sub != "" {
			return badRequest(TypeInvalidPath, `Members are added and removed whole: use the path members or members[value eq "12"].`)
		}
		return applyMembers(d, op, t, v)
	}
	return badRequest(TypeInvalidPath, "Groups have no attribute %q.", t.name)
}

// applyMembers applies an operation on a group's members: add adds users
// (a list of {"value": id}, or one), replace replaces them all (or those a
// filter selects), remove removes those a filter selects, those its value
// lists, or, with neither, all of them.
func applyMembers(d *service.TeamDraft, op operation, t target, v any) error {
	if t.filter != nil && op.op != "add" {
		var kept []int64
		for _, m := range d.Members {
			match, err := memberMatches(t.filter, id(m))
			if err != nil {
				return err
			}
			if !match {
				kept = append(kept, m)
			}
		}
		d.Members = kept
		if op.op == "remove" {
			return nil
		}
	}
	if op.op == "remove" && v == nil {
		d.Members = nil
		return nil
	}
	ids, err := memberIDs(v, op.op != "remove")
	if err != nil {
		return err
	}
	switch {
	case op.op == "remove":
		d.Members = slices.DeleteFunc(d.Members, func(m int64) bool { return slices.Contains(ids, m) })
	case op.op == "replace" && t.filter == nil:
		d.Members = ids
	default:
		for _, m := range ids {
			if !slices.Contains(d.Members, m) {
				d.Members = append(d.Members, m)
			}
		}
	}
	return nil
}

// memberIDs reads the user ids of a members value: a list of {"value":
// id} (a "$ref" or "display" beside it is ignored), one such object, or
// null for none. A value that can be no user's id names nobody: refused
// when strict (adding), skipped otherwise (removing).
func memberIDs(v any, strict bool) ([]int64, error) {
	var items []any
	switch v := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = v
	default:
		items = []any{v}
	}
	ids := make([]int64, 0, len(items))
	for _, item := range items {
		n, ok, err := memberID(item)
		if err != nil {
			return nil, err
		}
		switch {
		case ok:
			ids = append(ids, n)
		case strict:
			return nil, noSuchMember(item)
		}
	}
	return ids, nil
}

// memberMatches evaluates a members filter (value eq "12", joined with and
// and or) on a member's value.
func memberMatches(expr filter.Expression, value string) (bool, error) {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		left, err := memberMatches(e.Left, value)
		if err != nil {
			return false, err
		}
		right, err := memberMatches(e.Right, value)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(string(e.Operator), string(filter.OR)) {
			return left || right, nil
		}
		return left && right, nil
	case *filter.AttributeExpression:
		if strings.EqualFold(e.AttributePath.AttributeName, "value") && strings.EqualFold(string(e.Operator), "eq") {
			v, err := filterValue(e.CompareValue)
			return strings.TrimSpace(v) == value, err
		}
	}
	return false, badRequest(TypeInvalidFilter, `A members filter compares the value only, like members[value eq "12"]; %v is not supported.`,
		fmt.Sprint(expr))
}
