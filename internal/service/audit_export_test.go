package service_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func TestExportAuditEvents(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		if _, err := f.svc.CreateTeam(f.as(f.owner), "=cmd|' /C calc'!A0"); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := f.svc.ExportAuditEvents(f.as(f.owner), &buf, service.AuditQuery{}); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// org.created, user.invited (Owner), user.activated, team.created.
		if len(records) != 5 || records[1][2] != muster.ActionTeamCreated || !strings.HasPrefix(records[1][4], "'=") {
			t.Fatalf("export = %q; want 4 events newest first with the formula neutralized", records)
		}
		basic := f.active("Bo", muster.RoleBasic)
		wantCode(t, f.svc.ExportAuditEvents(f.as(basic), &bytes.Buffer{}, service.AuditQuery{}), muster.EFORBIDDEN)
	})
}
