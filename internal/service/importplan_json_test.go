package service

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/muster-app/muster/internal/importcsv"
)

// FuzzParsePlanRow: a row as planWriter writes it reads back as
// encoding/json reads it, or the parser declines and leaves it to
// encoding/json; a plan of such rows reads back whole.
func FuzzParsePlanRow(f *testing.F) {
	f.Add("ada@example.com", "Ada", "Team 1; \"Two\"", "a\\b\n\t/", "<&>\u2028é", 7, true)
	f.Add("", "", "", "", "", 0, false)
	f.Fuzz(func(t *testing.T, a, b, c, d, e string, line int, flag bool) {
		rows := []ImportRow{
			{Line: line, Cells: []string{a, b, c, d, e}, Email: a, FirstName: b, LastName: c, RoleCell: d,
				PrimaryCell: e, SecondaryCells: []string{c, d}, HasSecondary: flag, StatusCell: e,
				FileProblems: []importcsv.Problem{{Column: a, Message: b}, {Message: c}}, Action: ImportAction(d),
				Errors: []importcsv.Problem{}, Changes: []string{e}, Role: "basic", PrimaryTeam: b,
				SecondaryTeams: []string{}},
			{Line: line, Email: e, Action: ImportInvite},
		}
		w, err := newPlanWriter()
		if err != nil {
			t.Fatal(err)
		}
		var want []*ImportRow
		for _, row := range rows {
			line, err := json.Marshal(&row)
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON, got ImportRow
			if err := json.Unmarshal(line, &fromJSON); err != nil {
				t.Fatal(err)
			}
			if parsePlanRow(line, &got) && !reflect.DeepEqual(got, fromJSON) {
				t.Fatalf("%s\nparsed   %#v\njson reads %#v", line, got, fromJSON)
			}
			w.add(&row)
			want = append(want, &fromJSON)
		}
		// The whole way: written to a plan and read back.
		plan, err := w.close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodePlan(plan)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%v\nread back %#v\nwant      %#v", err, got, want)
		}
	})
}

// TestParsePlanRowDeclines: what the writer never writes is left to
// encoding/json.
func TestParsePlanRowDeclines(t *testing.T) {
	for _, line := range []string{
		`{"line":1,"email":"a@example.com","extra":1}`,
		`{"line":1,"email":"\u0061@example.com"}`,
		`{"line":1.5}`,
		`{"line":1,"email":null}`,
		`{"line":1,"email":"a"`,
		`{"line":1} x`,
		`{"Line":1}`,
	} {
		var r ImportRow
		if parsePlanRow([]byte(line), &r) {
			t.Errorf("parsed %s: %+v", line, r)
		}
	}
	var r ImportRow
	if !parsePlanRow([]byte(`{"line":3,"cells":null,"email":"a\"b","changes":[],"errors":[{"column":"Email","message":"m"}]}`), &r) ||
		r.Line != 3 || r.Cells != nil || r.Email != `a"b` || r.Changes == nil || len(r.Errors) != 1 || r.Errors[0].Column != "Email" {
		t.Errorf("%+v", r)
	}
}

// decodePlan reads every row of a stored plan.
func decodePlan(data []byte) ([]*ImportRow, error) {
	var rows []*ImportRow
	err := eachPlanRow(bytes.NewReader(data), func(r *ImportRow) error {
		rows = append(rows, r)
		return nil
	})
	return rows, err
}
