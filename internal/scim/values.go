package scim

import (
	"encoding/json"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// object is a JSON object as SCIM reads it: attribute names in any case
// (RFC 7643 §2.1).
type object map[string]any

// get returns the value of the attribute name, in any case, and whether it
// is there.
func (o object) get(name string) (any, bool) {
	if v, ok := o[name]; ok {
		return v, true
	}
	for k, v := range o {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// asObject returns v as an object, if it is one.
func asObject(v any) (object, bool) {
	m, ok := v.(map[string]any)
	return object(m), ok
}

// asString returns the string v holds: a string, a number's digits, or ""
// for null. The attribute is named in the error for anything else.
func asString(attr string, v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		if v {
			return "true", nil
		}
		return "false", nil
	}
	return "", badRequest(TypeInvalidValue, "%s must be a string.", attr)
}

// asBool reads a boolean as the providers send it: true or false, or the
// strings "True" and "False" in any case (Entra ID's default).
func asBool(attr string, v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, badRequest(TypeInvalidValue, "%s must be true or false.", attr)
}

// roleNames are the roles SCIM writes, by their names in lower case and
// without spaces: the labels the console shows and their codes.
var roleNames = map[string]muster.Role{
	"owner": muster.RoleOwner, "admin": muster.RoleAdmin, "administrator": muster.RoleAdmin,
	"manager": muster.RoleManager, "basicuser": muster.RoleBasic, "basic": muster.RoleBasic, "user": muster.RoleBasic,
}

// parseRole reads a role's name: Admin, Manager or Basic User in any case
// (Owner too, which the service refuses to give); empty means Basic User.
func parseRole(name string) (muster.Role, error) {
	key := strings.ToLower(strings.Join(strings.FieldsFunc(name, func(r rune) bool {
		return r == ' ' || r == '_' || r == '-'
	}), ""))
	if key == "" {
		return muster.RoleBasic, nil
	}
	if r, ok := roleNames[key]; ok {
		return r, nil
	}
	return "", badRequest(TypeInvalidValue, "The roles are Admin, Manager and Basic User; %q is none of them.", name)
}

// roleValues are the roles a remove's value names: one, or a list.
func roleValues(v any) ([]muster.Role, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	roles := make([]muster.Role, 0, len(items))
	for _, item := range items {
		role, err := roleValue(item)
		if err != nil {
			return nil, err
		}
		roles = append(roles, role)
	}
	return roles, nil
}

// roleValue reads the role out of a roles value as the providers send it:
// a list of {"value": …, "primary": …} (the primary one, else the first;
// an empty list is Basic User), one such object, or the role's name.
func roleValue(v any) (muster.Role, error) {
	switch v := v.(type) {
	case nil:
		return muster.RoleBasic, nil
	case []any:
		if len(v) == 0 {
			return muster.RoleBasic, nil
		}
		pick := v[0]
		for _, item := range v {
			if o, ok := asObject(item); ok {
				if p, ok := o.get("primary"); ok {
					if primary, err := asBool("roles.primary", p); err == nil && primary {
						pick = item
						break
					}
				}
			}
		}
		return roleValue(pick)
	case map[string]any:
		val, _ := object(v).get("value")
		return roleValue(val)
	}
	name, err := asString("roles", v)
	if err != nil {
		return "", err
	}
	return parseRole(name)
}
