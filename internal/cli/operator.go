package cli

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
)

// subcommand splits "muster users export …" into the verb and its args.
func subcommand(args []string, verbs ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, usagef("say what to do: %s", strings.Join(verbs, " or "))
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usagef("unknown action %q; want %s", args[0], strings.Join(verbs, " or "))
}

// operator reads --org and the configuration, opens the store and returns
// the service and a context in which an operator acts on the org.
func (fs *flagSet) operator(ctx context.Context, e *env, org string) (*service.Service, context.Context, func(), error) {
	orgID, err := parseOrg(org)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := fs.load(e)
	if err != nil {
		return nil, nil, nil, err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening the database %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	svc := service.New(db, serviceConfig(cfg))
	return svc, muster.NewContext(ctx, muster.Principal{OrgID: orgID, Origin: "cli"}), func() { db.Close() }, nil
}

func parseOrg(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, usagef("--org: give the organization's id (a number, as muster init printed it)")
	}
	return id, nil
}

func runUsers(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "export")
	if err != nil {
		return err
	}
	fs := newFlagSet("users " + verb)
	org := fs.string("org", "ID", "the organization's id")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "users export --org ID > users.csv",
		"Writes the organization's user list as CSV to standard output: the same columns as the console's\n"+
			"download, every status but withdrawn invitations, streamed in batches."); err != nil {
		return err
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	w := bufio.NewWriterSize(e.stdout, 64<<10)
	if err := svc.ExportUsers(opCtx, w, nil); err != nil {
		return refusal("the user list was not written", err, nil)
	}
	return w.Flush()
}

func runToken(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "create")
	if err != nil {
		return err
	}
	fs := newFlagSet("token " + verb)
	org := fs.string("org", "ID", "the organization's id")
	user := fs.string("user", "EMAIL", "the Active Owner or Admin the token acts as")
	name := fs.string("name", "NAME", "what the token is for, e.g. \"HR sync\"")
	expires := fs.string("expires", "DURATION", "lifetime, like 720h; unset for a token that does not expire")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "token create --org ID --user EMAIL --name NAME [--expires DURATION]",
		"Creates an API token that acts as the given Owner or Admin, with their role as it is at each call,\n"+
			"and prints it once. Muster keeps only its hash."); err != nil {
		return err
	}
	var expiresAt time.Time
	if *expires != "" {
		d, err := time.ParseDuration(*expires)
		if err != nil || d <= 0 {
			return usagef("--expires: %q is not a positive duration like 720h", *expires)
		}
		expiresAt = time.Now().Add(d)
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	tok, err := svc.CreateAPITokenFor(opCtx, strings.TrimSpace(*user), *name, expiresAt)
	if err != nil {
		return refusal("no token was created", err, map[string]string{muster.FieldEmail: "--user",
			muster.FieldName: "--name", muster.FieldExpiresAt: "--expires"})
	}
	fmt.Fprintln(e.stdout, tok.Secret)
	return nil
}

func runOrg(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "update")
	if err != nil {
		return err
	}
	fs := newFlagSet("org " + verb)
	org := fs.string("org", "ID", "the organization's id")
	eas := fs.string("email-at-scale", "true|false", "turn Email at Scale (Send As Permissions) on or off")
	licenses := fs.string("licenses", "N", "the new license total")
	fs.config(config.FlagDB)
	if err := fs.parse(e, args, "org update --org ID [--email-at-scale true|false] [--licenses N]",
		"Changes an organization's settings as its Owner could."); err != nil {
		return err
	}
	if *eas == "" && *licenses == "" {
		return usagef("say what to change: --email-at-scale or --licenses")
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	if *eas != "" {
		on, err := strconv.ParseBool(*eas)
		if err != nil {
			return usagef("--email-at-scale: want true or false, not %q", *eas)
		}
		if _, err := svc.SetEmailAtScale(opCtx, on); err != nil {
			return refusal("Email at Scale was not changed", err, nil)
		}
	}
	if *licenses != "" {
		total, err := strconv.Atoi(strings.TrimSpace(*licenses))
		if err != nil {
			return usagef("--licenses: %q is not a whole number", *licenses)
		}
		if _, err := svc.SetLicenseTotal(opCtx, total, 0); err != nil {
			return refusal("the license total was not changed", err, map[string]string{muster.FieldLicenseTotal: "--licenses"})
		}
	}
	o, err := svc.Org(opCtx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s (id %d): %d of %d licenses in use; Email at Scale %s.\n", o.Name, o.ID, o.SeatsUsed,
		o.LicenseTotal, map[bool]string{true: "on", false: "off"}[o.EmailAtScale])
	return nil
}
