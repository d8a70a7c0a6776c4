package mail

import (
	"strings"
	"testing"
)

func TestWebhookDisabledGolden(t *testing.T) {
	msg, err := ComposeWebhookDisabled(WebhookDisabled{OrgName: "Acme & Co", FirstName: "Olive",
		URL: "https://hr.example.com/hooks?x=<1>", Reason: "The endpoint answered 410 Gone, which says it is gone for good.",
		Link: "https://muster.example.com/settings/webhooks/7"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "webhook_disabled.subject", msg.Subject)
	golden(t, "webhook_disabled.txt", msg.Text)
	golden(t, "webhook_disabled.html", msg.HTML)
	if strings.Contains(msg.HTML, "<1>") || !strings.Contains(msg.HTML, "Acme &amp; Co") {
		t.Error("the HTML part does not escape the URL and the org name")
	}
}
