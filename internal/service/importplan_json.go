package service

import (
	"unicode/utf8"

	"github.com/muster-app/muster/internal/importcsv"
	"github.com/muster-app/muster/internal/muster"
)

// parsePlanRow reads a row of a stored plan, the JSON object of an
// ImportRow that planWriter writes, into r, several times faster than
// encoding/json's reflection: the answer of a 100,000-row dry run and each
// commit read every row of the plan. It reports false for what it does not
// expect (a field it does not know, a \u escape, null where the writer
// writes none), which encoding/json then reads instead.
func parsePlanRow(line []byte, r *ImportRow) bool {
	p := &planRowParser{b: line, ok: true}
	p.object(func(key []byte) {
		switch string(key) {
		case "line":
			r.Line = p.int()
		case "cells":
			r.Cells = p.strings()
		case "email":
			r.Email = p.string()
		case "first_name":
			r.FirstName = p.string()
		case "last_name":
			r.LastName = p.string()
		case "role_cell":
			r.RoleCell = p.string()
		case "primary_cell":
			r.PrimaryCell = p.string()
		case "secondary_cells":
			r.SecondaryCells = p.strings()
		case "has_secondary":
			r.HasSecondary = p.bool()
		case "status_cell":
			r.StatusCell = p.string()
		case "file_problems":
			r.FileProblems = p.problems()
		case "action":
			r.Action = ImportAction(p.string())
		case "errors":
			r.Errors = p.problems()
		case "changes":
			r.Changes = p.strings()
		case "role":
			r.Role = muster.Role(p.string())
		case "primary_team":
			r.PrimaryTeam = p.string()
		case "secondary_teams":
			r.SecondaryTeams = p.strings()
		default:
			p.ok = false
		}
	})
	p.space()
	return p.ok && p.i == len(p.b)
}

// planRowParser reads JSON from b at i; ok turns false at the first thing
// it does not expect, and stays so.
type planRowParser struct {
	b  []byte
	i  int
	ok bool
}

func (p *planRowParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

// take consumes c, after white space, if it is next.
func (p *planRowParser) take(c byte) bool {
	p.space()
	if p.ok && p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *planRowParser) want(c byte) {
	if !p.take(c) {
		p.ok = false
	}
}

// object reads an object, calling field for each key with the parser at
// its value.
func (p *planRowParser) object(field func(key []byte)) {
	p.want('{')
	if p.take('}') {
		return
	}
	for p.ok {
		key := p.key()
		p.want(':')
		if !p.ok {
			return
		}
		field(key)
		if !p.take(',') {
			p.want('}')
			return
		}
	}
}

// list reads an array, calling item for each element; null reads as no
// array (nil), [] as an empty one, as encoding/json reads them.
func (p *planRowParser) list(item func()) (present bool) {
	p.space()
	if p.ok && len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "null" {
		p.i += 4
		return false
	}
	p.want('[')
	if p.take(']') {
		return true
	}
	for p.ok {
		item()
		if !p.take(',') {
			p.want(']')
			break
		}
	}
	return true
}

func (p *planRowParser) strings() []string {
	var out []string
	if p.list(func() { out = append(out, p.string()) }) && out == nil {
		out = []string{}
	}
	return out
}

func (p *planRowParser) problems() []importcsv.Problem {
	var out []importcsv.Problem
	present := p.list(func() {
		var pr importcsv.Problem
		p.object(func(key []byte) {
			switch string(key) {
			case "column":
				pr.Column = p.string()
			case "message":
				pr.Message = p.string()
			default:
				p.ok = false
			}
		})
		out = append(out, pr)
	})
	if present && out == nil {
		out = []importcsv.Problem{}
	}
	return out
}

func (p *planRowParser) int() int {
	p.space()
	start, n := p.i, 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' && p.i-start < 18 {
		n = n*10 + int(p.b[p.i]-'0')
		p.i++
	}
	if p.i == start || (p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E' || p.b[p.i] >= '0' && p.b[p.i] <= '9')) {
		p.ok = false
	}
	return n
}

func (p *planRowParser) bool() bool {
	p.space()
	switch {
	case len(p.b)-p.i >= 4 && string(p.b[p.i:p.i+4]) == "true":
		p.i += 4
		return true
	case len(p.b)-p.i >= 5 && string(p.b[p.i:p.i+5]) == "false":
		p.i += 5
		return false
	}
	p.ok = false
	return false
}

// key reads an object's key, which the writer writes without escapes.
func (p *planRowParser) key() []byte {
	if !p.take('"') {
		p.ok = false
		return nil
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' && p.b[p.i] != '\\' {
		p.i++
	}
	if p.i == len(p.b) || p.b[p.i] != '"' {
		p.ok = false
		return nil
	}
	p.i++
	return p.b[start : p.i-1]
}

// string reads a string: as it is when it has no escape, else with the
// one-letter escapes the writer uses undone.
func (p *planRowParser) string() string {
	if !p.take('"') {
		p.ok = false
		return ""
	}
	start := p.i
	var unescaped []byte
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if unescaped != nil {
				raw = unescaped
			}
			if !utf8.Valid(raw) {
				p.ok = false // encoding/json would put U+FFFD in its place
				return ""
			}
			return string(raw)
		case c < 0x20:
			p.ok = false
			return ""
		case c == '\\':
			if unescaped == nil {
				unescaped = append(make([]byte, 0, p.i-start+16), p.b[start:p.i]...)
			}
			if p.i+1 >= len(p.b) {
				p.ok = false
				return ""
			}
			switch e := p.b[p.i+1]; e {
			case '"', '\\', '/':
				unescaped = append(unescaped, e)
			case 'b':
				unescaped = append(unescaped, '\b')
			case 'f':
				unescaped = append(unescaped, '\f')
			case 'n':
				unescaped = append(unescaped, '\n')
			case 'r':
				unescaped = append(unescaped, '\r')
			case 't':
				unescaped = append(unescaped, '\t')
			default: // \u: encoding/json's
				p.ok = false
				return ""
			}
			p.i += 2
		default:
			if unescaped != nil {
				unescaped = append(unescaped, c)
			}
			p.i++
		}
	}
	p.ok = false
	return ""
}
