package scim

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/muster-app/muster/internal/muster"
)

// filterAttr is an attribute a filter may compare, and how.
type filterAttr struct {
	attr string // muster.Attr…
	ops  []muster.CondOp
}

var (
	eqOnly         = []muster.CondOp{muster.CondEqual}
	eqSwCo         = []muster.CondOp{muster.CondEqual, muster.CondPrefix, muster.CondContains}
	userFilterable = map[string]filterAttr{
		"username":     {muster.AttrEmail, eqSwCo},
		"emails.value": {muster.AttrEmail, eqSwCo},
		"emails":       {muster.AttrEmail, eqSwCo},
		"externalid":   {muster.AttrExternalID, eqOnly},
		"id":           {muster.AttrID, eqOnly},
	}
	groupFilterable = map[string]filterAttr{
		"displayname":   {muster.AttrName, eqSwCo},
		"externalid":    {muster.AttrExternalID, eqOnly},
		"id":            {muster.AttrID, eqOnly},
		"members.value": {muster.AttrMember, eqOnly},
		"members":       {muster.AttrMember, eqOnly},
	}
)

// matchNothing is a condition no user or team meets (no id is 0): a filter
// on an email of a type other than work, which Muster's users do not have.
var matchNothing = muster.Condition{Op: muster.CondEqual, Attr: muster.AttrID, Value: "0"}

// parseFilter reads a filter (RFC 7644 §3.4.2.2) on the attributes of a
// resource whose core schema is schema, with the parser of
// github.com/scim2/filter-parser: eq, sw and co where attrs allow them,
// and, or and parentheses; nil for an empty filter. Anything else is an
// invalidFilter error that says what Muster filters on.
func parseFilter(raw, schema string, attrs map[string]filterAttr) (cond *muster.Condition, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil
	}
	if len(raw) > 4096 {
		return nil, badRequest(TypeInvalidFilter, "The filter is longer than 4096 characters.")
	}
	if problem := muster.TextProblem(raw); problem != "" {
		return nil, badRequest(TypeInvalidFilter, "The filter %s.", problem)
	}
	defer func() {
		// The parser is not ours: whatever it does with strange input, the
		// answer is a refusal of the filter.
		if p := recover(); p != nil {
			cond, err = nil, badRequest(TypeInvalidFilter, "The filter %q could not be read.", raw)
		}
	}()
	expr, perr := filter.ParseFilter([]byte(valuePathsInside(upperHexEscapes(raw))))
	if perr != nil {
		return nil, badRequest(TypeInvalidFilter, "The filter %q could not be read: write it like "+
			`userName eq "ada@example.com" (RFC 7644 §3.4.2.2).`, raw)
	}
	c, err := condition(expr, schema, attrs)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// condition converts a parsed filter.
func condition(expr filter.Expression, schema string, attrs map[string]filterAttr) (muster.Condition, error) {
	switch e := expr.(type) {
	case *filter.LogicalExpression:
		op := muster.CondAnd
		if strings.EqualFold(string(e.Operator), string(filter.OR)) {
			op = muster.CondOr
		}
		left, err := condition(e.Left, schema, attrs)
		if err != nil {
			return muster.Condition{}, err
		}
		right, err := condition(e.Right, schema, attrs)
		if err != nil {
			return muster.Condition{}, err
		}
		return muster.Condition{Op: op, Of: append(flatten(left, op), flatten(right, op)...)}, nil
	case *filter.AttributeExpression:
		return comparison(e.AttributePath, "", e.Operator, e.CompareValue, schema, attrs)
	case *filter.ValuePath:
		return valuePathCondition(e, schema, attrs)
	case *filter.NotExpression:
		return muster.Condition{}, unsupportedFilter(attrs, "not is not supported")
	}
	return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%v is not supported", expr))
}

// flatten returns c's parts when c combines them with op, else c.
func flatten(c muster.Condition, op muster.CondOp) []muster.Condition {
	if c.Op == op {
		return c.Of
	}
	return []muster.Condition{c}
}

// comparison converts "path op value"; sub, if set, is the sub-attribute a
// value path's filter compares (emails[value eq …]).
func comparison(path filter.AttributePath, outer string, op filter.CompareOperator, value any, schema string,
	attrs map[string]filterAttr) (muster.Condition, error) {
	if uri := path.URI(); uri != "" && !strings.EqualFold(uri, schema) {
		return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("attributes of %s are not filtered on", uri))
	}
	name := strings.ToLower(path.AttributeName)
	if sub := path.SubAttributeName(); sub != "" {
		name += "." + strings.ToLower(sub)
	}
	if outer != "" {
		name = outer + "." + name
	}
	a, ok := attrs[name]
	if !ok {
		return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%s is not an attribute Muster filters on", path))
	}
	cop := muster.CondOp(strings.ToLower(string(op)))
	found := false
	for _, o := range a.ops {
		found = found || o == cop
	}
	if !found {
		return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%s is compared with %s only", path, opNames(a.ops)))
	}
	v, err := filterValue(value)
	if err != nil {
		return muster.Condition{}, err
	}
	return muster.Condition{Op: cop, Attr: a.attr, Value: v}, nil
}

// valuePathCondition converts attr[filter]: emails[value eq "…"] (with,
// optionally, type eq "work" or primary eq true beside it) and
// members[value eq "…"].
func valuePathCondition(e *filter.ValuePath, schema string, attrs map[string]filterAttr) (muster.Condition, error) {
	outer := strings.ToLower(e.AttributePath.AttributeName)
	var parts []filter.Expression
	var split func(filter.Expression) bool
	split = func(x filter.Expression) bool {
		if l, ok := x.(*filter.LogicalExpression); ok {
			return strings.EqualFold(string(l.Operator), string(filter.AND)) && split(l.Left) && split(l.Right)
		}
		parts = append(parts, x)
		return true
	}
	if e.AttributePath.SubAttribute != nil || !split(e.ValueFilter) {
		return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%v is not supported", e))
	}
	var conds []muster.Condition
	for _, p := range parts {
		ae, ok := p.(*filter.AttributeExpression)
		if !ok {
			return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%v is not supported", e))
		}
		switch strings.ToLower(ae.AttributePath.AttributeName) {
		case "type":
			v, _ := ae.CompareValue.(string)
			if outer != "emails" || !strings.EqualFold(string(ae.Operator), "eq") {
				return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%v is not supported", e))
			}
			if !strings.EqualFold(v, "work") {
				conds = append(conds, matchNothing) // every user's one email is their work email
			}
			continue
		case "primary":
			if outer == "emails" {
				continue // the one email is the primary one
			}
		}
		c, err := comparison(ae.AttributePath, outer, ae.Operator, ae.CompareValue, schema, attrs)
		if err != nil {
			return muster.Condition{}, err
		}
		conds = append(conds, c)
	}
	if len(conds) == 0 {
		return muster.Condition{}, unsupportedFilter(attrs, fmt.Sprintf("%v compares no value", e))
	}
	if len(conds) == 1 {
		return conds[0], nil
	}
	return muster.Condition{Op: muster.CondAnd, Of: conds}, nil
}

// filterValue is a compared value as a string. The parser keeps a string's
// escapes (\" stays \"); JSON's rules, which RFC 7644 §3.4.2.2 follows,
// decode them.
func filterValue(v any) (string, error) {
	switch v := v.(type) {
	case string:
		var s string
		if err := json.Unmarshal([]byte(`"`+v+`"`), &s); err != nil {
			return "", badRequest(TypeInvalidFilter, "The filter's value %q is not a valid JSON string.", v)
		}
		return s, nil
	case nil:
		return "", badRequest(TypeInvalidFilter, "The filter compares with null; compare with a value.")
	}
	return fmt.Sprint(v), nil
}

func opNames(ops []muster.CondOp) string {
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}

// unsupportedFilter refuses a filter and says what Muster filters on.
func unsupportedFilter(attrs map[string]filterAttr, why string) *Error {
	what := `userName (eq, sw, co), emails.value and emails[type eq "work"].value (eq), externalId (eq) and id (eq)`
	if _, ok := attrs["displayname"]; ok {
		what = "displayName (eq, sw, co), externalId (eq), id (eq) and members.value (eq)"
	}
	return badRequest(TypeInvalidFilter, "The filter can't be used: %s. Muster filters on %s, joined with and, or "+
		"and parentheses.", why, what)
}

// upperHexEscapes writes the hex digits of each \u escape of a filter in
// upper case: the parser's grammar takes only those, where JSON's strings,
// which RFC 7644 §3.4.2.2 follows, take either. An escaped backslash is
// passed over, so that "\\u00e9" stays a backslash and "u00e9".
func upperHexEscapes(raw string) string {
	if !strings.Contains(raw, `\u`) {
		return raw
	}
	b := []byte(raw)
	for i := 0; i+1 < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		for j := i + 2; b[i+1] == 'u' && j < min(i+6, len(b)); j++ {
			if 'a' <= b[j] && b[j] <= 'f' {
				b[j] -= 'a' - 'A'
			}
		}
		i++ // the escaped character
	}
	return string(b)
}

// valuePathsInside rewrites each attr[filter].sub op value of a filter as
// attr[filter and sub op value], the form RFC 7644's grammar has, which
// means the same: Entra ID asks for emails[type eq "work"].value eq "…",
// which the parser does not read. Quoted strings are left as they are.
func valuePathsInside(raw string) string {
	if !strings.Contains(raw, "].") {
		return raw
	}
	var out strings.Builder
	var opens []int // positions in out of the open brackets
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '"':
			end := quoteEnd(raw, i)
			out.WriteString(raw[i:end])
			i = end - 1
		case c == '[':
			opens = append(opens, out.Len())
			out.WriteByte(c)
		case c == ']' && len(opens) > 0 && i+1 < len(raw) && raw[i+1] == '.':
			open := opens[len(opens)-1]
			opens = opens[:len(opens)-1]
			rest, comparison := splitComparison(raw[i+2:])
			inner := out.String()[open+1:]
			if comparison == "" || hasOr(inner) {
				// The parser reads no parentheses inside brackets, so a
				// filter with "or" there would change meaning: left as it
				// is, it is refused.
				out.WriteByte(c)
				continue
			}
			head := out.String()[:open+1]
			out.Reset()
			out.WriteString(head + inner + " and " + comparison + "]")
			i = len(raw) - len(rest) - 1
		case c == ']' && len(opens) > 0:
			opens = opens[:len(opens)-1]
			out.WriteByte(c)
		default:
			out.WriteByte(c)
		}
	}
	return out.String()
}

// hasOr reports whether a filter has an "or" outside its quoted strings.
func hasOr(f string) bool {
	for i := 0; i < len(f); i++ {
		if f[i] == '"' {
			i = quoteEnd(f, i) - 1
			continue
		}
		if i+4 <= len(f) && strings.EqualFold(f[i:i+4], " or ") {
			return true
		}
	}
	return false
}

// quoteEnd returns the index after the quoted string that starts at i.
func quoteEnd(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// splitComparison reads "sub op value" (or "sub pr") from the start of s
// and returns what follows it and the comparison; "" when s does not start
// with one.
func splitComparison(s string) (rest, comparison string) {
	word := func(s string) (string, string) {
		n := strings.IndexFunc(s, func(r rune) bool {
			return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '$')
		})
		if n < 0 {
			n = len(s)
		}
		return s[:n], s[n:]
	}
	sub, after := word(s)
	if sub == "" || !strings.HasPrefix(after, " ") {
		return s, ""
	}
	op, after := word(strings.TrimLeft(after, " "))
	if strings.EqualFold(op, "pr") {
		return after, sub + " " + op
	}
	if op == "" || !strings.HasPrefix(after, " ") {
		return s, ""
	}
	after = strings.TrimLeft(after, " ")
	var value string
	if strings.HasPrefix(after, `"`) {
		end := quoteEnd(after, 0)
		value, after = after[:end], after[end:]
	} else {
		n := strings.IndexAny(after, " )]")
		if n < 0 {
			n = len(after)
		}
		value, after = after[:n], after[n:]
	}
	if value == "" {
		return s, ""
	}
	return after, sub + " " + op + " " + value
}
