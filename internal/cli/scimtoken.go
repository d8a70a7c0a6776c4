package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/scim"
)

const scimTokenDescription = `
Creates a SCIM token for the organization's identity provider (Okta, Entra
ID…) and prints it once: Muster keeps only its hash. The provider sends it as
Authorization: Bearer to the SCIM base URL, <base-url>/scim/v2, to create,
update and deactivate users (up to Admin) and to manage teams; it never acts
on the Owner. It works until it is revoked in Settings → Provisioning (SCIM).
It is not an API token. See docs/scim.md.

With --json, prints {"token":"mscim_…","base_url":"…/scim/v2"}.
`

// scimTokenResult is the --json answer.
type scimTokenResult struct {
	Token   string `json:"token"`
	BaseURL string `json:"base_url"`
}

func runSCIMToken(ctx context.Context, e *env, args []string) error {
	verb, args, err := subcommand(args, "create")
	if err != nil {
		return err
	}
	fs := newFlagSet("scim-token " + verb)
	org := fs.orgFlag()
	name := fs.string("name", "NAME", "what the token is for, e.g. \"Okta\"")
	asJSON := fs.bool("json", "print the token and the SCIM base URL as JSON")
	fs.config(config.FlagDB, config.FlagBaseURL)
	if err := fs.parse(e, args, "scim-token create --org ID|NAME --name NAME [--json]", scimTokenDescription); err != nil {
		return err
	}
	svc, opCtx, done, err := fs.operator(ctx, e, *org)
	if err != nil {
		return err
	}
	defer done()
	cfg, err := fs.load(e)
	if err != nil {
		return err
	}
	tok, err := svc.CreateSCIMToken(opCtx, *name)
	if err != nil {
		return refusal("no token was created", err, map[string]string{muster.FieldName: "--name"})
	}
	base := cfg.BaseURL + scim.Prefix
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(scimTokenResult{Token: tok.Secret, BaseURL: base})
	}
	fmt.Fprintln(e.stdout, tok.Secret)
	fmt.Fprintf(e.stderr, "SCIM base URL: %s\nThe token is shown this once; Muster keeps only its hash.\n", base)
	return nil
}
