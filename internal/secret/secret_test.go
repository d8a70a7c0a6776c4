package secret

import (
	"bytes"
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	hash := HashPassword("correct horse battery")
	if ok, err := CheckPassword(hash, "correct horse battery"); err != nil || !ok {
		t.Fatalf("CheckPassword(right) = %v, %v; want true", ok, err)
	}
	if ok, err := CheckPassword(hash, "correct horse batterY"); err != nil || ok {
		t.Fatalf("CheckPassword(wrong) = %v, %v; want false", ok, err)
	}
	if HashPassword("correct horse battery") == hash {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	cheap := TestParams.Hash("correct horse battery")
	if ok, err := CheckPassword(cheap, "correct horse battery"); err != nil || !ok || !strings.Contains(cheap, "m=64,t=1,p=1") {
		t.Fatalf("a hash made with other parameters: %q %v %v", cheap, ok, err)
	}
	if _, err := CheckPassword("$2a$10$bcrypt", "x"); err != ErrMalformedHash {
		t.Fatalf("CheckPassword(bcrypt) err = %v; want ErrMalformedHash", err)
	}
}

func TestNewToken(t *testing.T) {
	a, ha := NewToken()
	b, _ := NewToken()
	if len(a) != 43 || a == b {
		t.Fatalf("tokens %q, %q: want two different 43-character tokens", a, b)
	}
	if !bytes.Equal(HashToken(a), ha) {
		t.Fatal("HashToken does not match the hash NewToken returned")
	}
}

// TestDummyHash: the hash checked when no account matches has the real
// costs (so the answer takes as long) and matches no password.
func TestDummyHash(t *testing.T) {
	dummy := DefaultParams.DummyHash()
	if !strings.Contains(dummy, "$m=65536,t=1,p=2$") {
		t.Fatalf("dummy hash %q does not have the default costs", dummy)
	}
	for _, pw := range []string{"", "muster-dummy-password", "correct horse battery"} {
		if ok, err := CheckPassword(dummy, pw); err != nil || ok {
			t.Fatalf("CheckPassword(dummy, %q) = %v, %v; want false", pw, ok, err)
		}
	}
	if DefaultParams.DummyHash() == dummy {
		t.Fatal("two dummy hashes are equal")
	}
}
