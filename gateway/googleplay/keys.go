package googleplay

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"google.golang.org/api/googleapi"

	"github.com/payrail/payments"
)

// TestPrefix starts the ledger keys (Entry.GatewayRef and
// Entry.GatewayPaymentID) and the payment id of a test purchase: one a
// license tester made with a test card, which moved no money
// (https://developer.android.com/google/play/billing/test). The core has
// no field to flag an entry with, so the flag is in its key, where the
// host's BalanceService sees it (IsTestPurchase) and where it can never be
// the key of real money.
const TestPrefix = "test:"

// OrderKey returns the ledger key of an order: Google's order id or, for a
// purchase Google gives none (test purchases have had none), "token:" and
// the first 32 hex digits of the SHA-256 of its purchase token, which keeps
// the token itself out of the ledger. A test purchase's key starts with
// TestPrefix. Every path that reports an order (VerifyPurchase, a
// notification, the voided purchases list) keys it with OrderKey.
func OrderKey(orderID, purchaseToken string, test bool) string {
	key := orderID
	if key == "" {
		sum := sha256.Sum256([]byte(purchaseToken))
		key = "token:" + hex.EncodeToString(sum[:16])
	}
	if test {
		key = TestPrefix + key
	}
	return key
}

// unitKey is the key of the k-th of quantity units of an order (1-based):
// the order's own for a single unit, so that its refund is keyed by the
// order id as Google's notification names it.
func unitKey(orderKey string, k, quantity int64) string {
	if quantity <= 1 {
		return orderKey
	}
	return orderKey + "/" + strconv.FormatInt(k, 10)
}

// IsTestPurchase reports whether an entry of this driver records a test
// purchase, which moved no money. A host that did not set
// Config.RefuseTestPurchases can refuse them in its BalanceService:
//
//	if e.Gateway == "googleplay" && googleplay.IsTestPurchase(e) && production {
//		return payments.Permanent(errors.New("test purchase"))
//	}
func IsTestPurchase(e payments.Entry) bool {
	return strings.HasPrefix(e.GatewayRef, TestPrefix)
}

// tokenRef names a purchase token in messages by a short prefix: the token
// identifies a user's purchase and is never logged whole.
func tokenRef(token string) string {
	if len(token) > 10 {
		return token[:10] + "…"
	}
	return token
}

// apiError describes a failed Developer API call without the request URL,
// which holds the purchase token, and classifies it: a purchase Google does
// not know for this token (400, 404, 410) is payments.ErrInvalidInput;
// anything else (401 and 403 for the service account's permissions, 429,
// 5xx, the network) is not the sender's fault and stays unclassified, so
// that a webhook is answered 500 and delivered again.
func apiError(op, subject string, err error) error {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		msg := fmt.Sprintf("googleplay: %s %s: Google answered %d", op, subject, ge.Code)
		if ge.Message != "" {
			msg += " " + strconv.Quote(ge.Message)
		}
		switch ge.Code {
		case 400, 404, 410:
			return fmt.Errorf("%s: %w", msg, payments.ErrInvalidInput)
		}
		return errors.New(msg)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its message repeats the URL
	}
	return fmt.Errorf("googleplay: %s %s: %w", op, subject, err)
}
