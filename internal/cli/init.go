package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/web"
)

const initSynopsis = "init --org NAME --owner-email EMAIL --owner-first-name FIRST --owner-last-name LAST --licenses N [flags]"

const initDescription = `
Creates an organization with its Default Team and its Owner, and prints the
Owner's set-up link. The Owner is Pending until they open the link and set a
password. The link is also queued as an email, which 'muster serve' sends.

The organization is in the deployment's region (--region) unless told
otherwise. Nothing is written when any value is refused.

With --json, prints {"org_id":…,"owner_id":…,"setup_url":"…"}.
`

// initFlags maps the service's field names to the flags that carry them, so
// that its messages name what the operator typed.
var initFlags = map[string]string{
	muster.FieldName:         "--org",
	muster.FieldLicenseTotal: "--licenses",
	muster.FieldFirstName:    "--owner-first-name",
	muster.FieldLastName:     "--owner-last-name",
	muster.FieldEmail:        "--owner-email",
	muster.FieldRegion:       "--region",
}

// initResult is the --json answer.
type initResult struct {
	OrgID    int64  `json:"org_id"`
	OwnerID  int64  `json:"owner_id"`
	SetupURL string `json:"setup_url"`
}

func runInit(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("init")
	org := fs.string("org", "NAME", "organization name")
	email := fs.string("owner-email", "EMAIL", "the Owner's email, which is their username")
	first := fs.string("owner-first-name", "FIRST", "the Owner's first name")
	last := fs.string("owner-last-name", "LAST", "the Owner's last name")
	licenses := fs.string("licenses", "N", "license total: how many Pending and Active users the organization may have")
	asJSON := fs.bool("json", "print the result as JSON")
	fs.config(config.FlagDB, config.FlagBaseURL, config.FlagRegion, config.FlagInvitationTTL)
	if err := fs.parse(e, args, initSynopsis, initDescription); err != nil {
		return err
	}
	cfg, err := fs.load(e)
	if err != nil {
		return err
	}
	total := 0
	if s := strings.TrimSpace(*licenses); s != "" {
		// A number out of range goes to the service, which says what is allowed.
		if total, err = strconv.Atoi(s); err != nil {
			return usagef("--licenses: %q is not a whole number", s)
		}
	}

	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("opening the database %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	defer db.Close()
	svc := service.New(db, serviceConfig(cfg))

	ctx = muster.NewContext(ctx, muster.Principal{OrgID: 0, Origin: "cli"})
	res, err := svc.CreateOrg(ctx, service.NewOrg{
		Name:           *org,
		Region:         cfg.Region,
		LicenseTotal:   total,
		OwnerEmail:     *email,
		OwnerFirstName: *first,
		OwnerLastName:  *last,
	})
	if err != nil {
		return refusal("the organization was not created", err, initFlags)
	}

	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(initResult{OrgID: res.Org.ID, OwnerID: res.Owner.ID, SetupURL: res.SetupURL})
	}
	fmt.Fprintf(e.stdout, "Created the organization %q (id %d) in region %s with %d licenses.\n",
		res.Org.Name, res.Org.ID, res.Org.Region, res.Org.LicenseTotal)
	fmt.Fprintf(e.stdout, "Its Owner, %s <%s> (id %d), is Pending until they open this link and set a password:\n\n",
		res.Owner.Name(), res.Owner.Email, res.Owner.ID)
	fmt.Fprintf(e.stdout, "  %s\n\n", res.SetupURL)
	fmt.Fprintf(e.stdout, "The link works once and expires in %s. It is also queued as an email to %s,\n"+
		"which 'muster serve' sends.\n", humanDuration(cfg.InvitationTTL), res.Owner.Email)
	return nil
}

// refusal turns a service error into a message for the operator: the
// service's words, one line per field, named by the flag that carries it.
func refusal(what string, err error, flags map[string]string) error {
	code := muster.ErrorCode(err)
	if code == muster.EINTERNAL {
		return fmt.Errorf("%s: %w", what, err)
	}
	fields := muster.ErrorFields(err)
	if len(fields) == 0 {
		return fmt.Errorf("%s: %s", what, muster.ErrorMessage(err))
	}
	var b strings.Builder
	b.WriteString(what + ":")
	for _, f := range fields {
		name := flags[f.Field]
		if name == "" {
			name = f.Field
		}
		fmt.Fprintf(&b, "\n  %s: %s", name, f.Message)
	}
	return errors.New(b.String())
}

// serviceConfig is the part of the configuration the service needs.
func serviceConfig(cfg *config.Config) service.Config {
	return service.Config{BaseURL: cfg.BaseURL, Region: cfg.Region, InvitationTTL: cfg.InvitationTTL,
		ReportLease: cfg.ReportLease, Links: web.NewLinks(cfg.BaseURL)}
}

// humanDuration writes whole days as days ("7 days"), anything else as Go
// does ("36h0m0s").
func humanDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return strconv.Itoa(int(d/day)) + " days"
	}
	return d.String()
}
