package config_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/config"
)

// TestWebhookSettings: the development flag and the server key come from
// flags or the environment; a bad key is refused without being quoted.
func TestWebhookSettings(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	c, err := load(t, map[string]string{"MUSTER_WEBHOOKS_ALLOW_PRIVATE": "true",
		"MUSTER_SECRET_KEY": base64.StdEncoding.EncodeToString(key)})
	if err != nil {
		t.Fatal(err)
	}
	if !c.WebhooksAllowPrivate || !bytes.Equal(c.SecretKey, key) {
		t.Fatalf("allow private %v, key %x; want true and the key", c.WebhooksAllowPrivate, c.SecretKey)
	}
	if c, err = load(t, nil, "--webhooks-allow-private=false"); err != nil || c.WebhooksAllowPrivate || c.SecretKey != nil {
		t.Fatalf("%+v, %v; want private addresses refused and no key", c, err)
	}
	if c, err = load(t, map[string]string{"MUSTER_WEBHOOKS_ALLOW_PRIVATE": "false"}, "--webhooks-allow-private"); err != nil ||
		!c.WebhooksAllowPrivate {
		t.Fatalf("--webhooks-allow-private alone: %+v, %v; want it on, over the environment", c, err)
	}
	for name, tc := range map[string]struct {
		flag, value, msg string
	}{
		"ErrAllowPrivate": {"webhooks-allow-private=yes please", "", "true or false"},
		"ErrKeyShort":     {"secret-key", base64.StdEncoding.EncodeToString([]byte("sixteen byte key")), "32 bytes, not of 16"},
		"ErrKeyNotBase64": {"secret-key", "my secret passphrase!", "not base64"},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"--" + tc.flag, tc.value}
			if tc.value == "" {
				args = args[:1]
			}
			flagName, _, _ := strings.Cut(tc.flag, "=")
			_, err := load(t, nil, args...)
			cerr, ok := err.(*config.Error)
			if !ok || len(cerr.Problems) != 1 || cerr.Problems[0].Flag != flagName || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want one problem about --%s saying %q", err, tc.flag, tc.msg)
			}
			if tc.flag == "secret-key" && strings.Contains(err.Error(), tc.value) {
				t.Fatalf("the error %q quotes the key", err)
			}
		})
	}
}
