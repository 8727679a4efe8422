package appstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

// TestTranslation checks what each notification type records, with
// payloads shaped as Apple documents them, signed by the tests' chain.
func TestTranslation(t *testing.T) {
	s := newSigner(t, appstore.Production)
	at := time.Now().UTC().Truncate(time.Hour).Add(-24 * time.Hour)
	token := accountToken
	sub := func(edits map[string]any) map[string]any {
		base := map[string]any{"type": "Auto-Renewable Subscription", "expiresDate": at.Add(720 * time.Hour).UnixMilli(),
			"subscriptionGroupIdentifier": "55555", "appAccountToken": token}
		for k, v := range edits {
			base[k] = v
		}
		return base
	}
	refunded := func(edits map[string]any) map[string]any {
		base := map[string]any{"revocationDate": at.Add(time.Hour).UnixMilli(), "revocationReason": 1, "appAccountToken": token}
		for k, v := range edits {
			base[k] = v
		}
		return base
	}
	type want struct {
		status  payments.Status // of the one payment update; "" for none
		entries []string        // kind:amount
		notice  bool
		note    string // in Changes.Note
		err     error
	}
	for _, tc := range []struct {
		name, typ, subtype string
		tx                 map[string]any // edits of the transaction; nil for none
		noTx               bool
		data               map[string]any
		want               want
	}{
		{name: "one-time charge", typ: "ONE_TIME_CHARGE", tx: map[string]any{"appAccountToken": token},
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:10.99 USD"}}},
		{name: "subscribed", typ: "SUBSCRIBED", subtype: "INITIAL_BUY", tx: sub(map[string]any{"price": 9990, "currency": "EUR"}),
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:9.99 EUR"}}},
		{name: "renewed in yen", typ: "DID_RENEW", tx: sub(map[string]any{"price": 480000, "currency": "JPY"}),
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:480 JPY"}}},
		{name: "renewed in dinars (three decimals)", typ: "DID_RENEW", subtype: "BILLING_RECOVERY", tx: sub(map[string]any{"price": 1234, "currency": "KWD"}),
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:1.234 KWD"}}},
		{name: "a price not whole in yen", typ: "DID_RENEW", tx: sub(map[string]any{"price": 480500, "currency": "JPY"}),
			want: want{err: payments.ErrInvalidInput}},
		{name: "a price in an unknown currency", typ: "ONE_TIME_CHARGE", tx: map[string]any{"currency": "XYZ"},
			want: want{err: payments.ErrInvalidInput}},
		{name: "a negative price", typ: "ONE_TIME_CHARGE", tx: map[string]any{"price": -10990},
			want: want{err: payments.ErrInvalidInput}},
		{name: "a free trial", typ: "SUBSCRIBED", subtype: "INITIAL_BUY", tx: sub(map[string]any{"price": 0, "offerDiscountType": "FREE_TRIAL", "offerType": 1}),
			want: want{note: "charged nothing"}},
		{name: "shared through Family Sharing", typ: "SUBSCRIBED", subtype: "INITIAL_BUY", tx: sub(map[string]any{"inAppOwnershipType": "FAMILY_SHARED"}),
			want: want{note: "Family Sharing"}},
		{name: "no price: the catalogue's, times the quantity", typ: "ONE_TIME_CHARGE", tx: map[string]any{"price": nil, "currency": nil, "quantity": 3, "appAccountToken": token},
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:14.97 USD"}, note: "Config.Prices"}},
		{name: "no price and none in the catalogue", typ: "ONE_TIME_CHARGE", tx: map[string]any{"price": nil, "currency": nil, "productId": "com.example.unpriced"},
			want: want{err: payments.ErrInvalidInput}},
		{name: "a purchase without its transaction", typ: "ONE_TIME_CHARGE", noTx: true,
			want: want{err: payments.ErrInvalidInput}},
		{name: "upgraded", typ: "DID_CHANGE_RENEWAL_PREF", subtype: "UPGRADE", tx: sub(map[string]any{"price": 19990}),
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:19.99 USD"}}},
		{name: "downgraded: effective at the next renewal", typ: "DID_CHANGE_RENEWAL_PREF", subtype: "DOWNGRADE", tx: sub(nil),
			want: want{note: "records nothing"}},
		{name: "an offer for a new subscription", typ: "OFFER_REDEEMED", subtype: "INITIAL_BUY", tx: sub(map[string]any{"price": 4990}),
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:4.99 USD"}}},
		{name: "an offer for the next renewal", typ: "OFFER_REDEEMED", tx: sub(nil),
			want: want{note: "records nothing"}},
		{name: "refunded in full", typ: "REFUND", tx: refunded(nil),
			want: want{status: payments.StatusRefunded, entries: []string{"charge:10.99 USD", "refund:-10.99 USD"}}},
		{name: "refunded in full, said so", typ: "REFUND", tx: refunded(map[string]any{"revocationType": "REFUND_FULL", "revocationPercentage": 100000}),
			want: want{status: payments.StatusRefunded, entries: []string{"charge:10.99 USD", "refund:-10.99 USD"}}},
		{name: "a prorated refund, rounded half up", typ: "REFUND", tx: refunded(map[string]any{"revocationType": "REFUND_PRORATED", "revocationPercentage": 50000}),
			want: want{status: payments.StatusPartiallyRefunded, entries: []string{"charge:10.99 USD", "refund:-5.50 USD"}, note: "rounded"}},
		{name: "one of three refunded, at Apple's rounded 33.333%", typ: "REFUND", tx: refunded(map[string]any{"price": 2970, "quantity": 3, "revocationType": "REFUND_PRORATED", "revocationPercentage": 33333}),
			want: want{status: payments.StatusPartiallyRefunded, entries: []string{"charge:2.97 USD", "refund:-0.99 USD"}}},
		{name: "a prorated refund that is exact", typ: "REFUND", tx: refunded(map[string]any{"price": 10000, "revocationType": "REFUND_PRORATED", "revocationPercentage": 40000}),
			want: want{status: payments.StatusPartiallyRefunded, entries: []string{"charge:10.00 USD", "refund:-4.00 USD"}}},
		{name: "a prorated refund of 100%", typ: "REFUND", tx: refunded(map[string]any{"revocationType": "REFUND_PRORATED", "revocationPercentage": 100000}),
			want: want{status: payments.StatusRefunded, entries: []string{"charge:10.99 USD", "refund:-10.99 USD"}}},
		{name: "a prorated refund too small to move a cent", typ: "REFUND", tx: refunded(map[string]any{"revocationType": "REFUND_PRORATED", "revocationPercentage": 15}),
			want: want{status: payments.StatusSucceeded, entries: []string{"charge:10.99 USD"}, note: "nothing to record"}},
		{name: "a prorated refund above 100%", typ: "REFUND", tx: refunded(map[string]any{"revocationType": "REFUND_PRORATED", "revocationPercentage": 100001}),
			want: want{err: payments.ErrInvalidInput}},
		{name: "a refund without revocationDate", typ: "REFUND", tx: map[string]any{},
			want: want{err: payments.ErrInvalidInput}},
		{name: "refund reversed", typ: "REFUND_REVERSED", tx: map[string]any{"appAccountToken": token},
			want: want{entries: []string{"refund_reversal:10.99 USD"}, note: "full price"}},
		{name: "refund declined", typ: "REFUND_DECLINED", tx: map[string]any{}, want: want{notice: true}},
		{name: "consumption requested", typ: "CONSUMPTION_REQUEST", tx: map[string]any{}, data: map[string]any{"consumptionRequestReason": "UNINTENDED_PURCHASE"},
			want: want{notice: true, note: "UNINTENDED_PURCHASE"}},
		{name: "expired", typ: "EXPIRED", subtype: "VOLUNTARY", tx: sub(nil), want: want{notice: true, note: "VOLUNTARY"}},
		{name: "failed to renew", typ: "DID_FAIL_TO_RENEW", subtype: "GRACE_PERIOD", tx: sub(nil), want: want{notice: true}},
		{name: "grace period expired", typ: "GRACE_PERIOD_EXPIRED", tx: sub(nil), want: want{notice: true}},
		{name: "revoked from a family member", typ: "REVOKE", tx: sub(map[string]any{"inAppOwnershipType": "FAMILY_SHARED", "revocationDate": at.UnixMilli(), "revocationType": "FAMILY_REVOKE"}),
			want: want{notice: true}},
		{name: "auto-renew turned off", typ: "DID_CHANGE_RENEWAL_STATUS", subtype: "AUTO_RENEW_DISABLED", tx: sub(nil), want: want{note: "records nothing"}},
		{name: "test", typ: "TEST", noTx: true, want: want{note: "test notification"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, func(c *appstore.Config) {
				c.Prices = map[string]payments.Money{"com.example.product": money(t, "4.99", "USD")}
			})
			id := newTransactionID()
			var tx map[string]any
			if !tc.noTx {
				tx = s.transaction(id, at, tc.tx)
			}
			c, err := g.ParseWebhook(t.Context(), s.request(s.notification(tc.typ, tc.subtype, at, tx, tc.data)))
			if tc.want.err != nil {
				assert.ErrorIs(t, err, tc.want.err)
				assert.NotErrorIs(t, err, payments.ErrUnauthenticated, "it verified")
				return
			}
			require.NoError(t, err)
			require.NoError(t, c.Validate(g.Name()))
			assert.Equal(t, tc.typ, c.EventType)
			assert.NotEmpty(t, c.EventID, "the notificationUUID")
			assert.Equal(t, tc.want.notice, c.Notice)
			assert.Contains(t, c.Note, tc.want.note)
			var got []string
			for _, e := range c.Entries {
				got = append(got, string(e.Kind)+":"+e.Amount.String())
				assert.Equal(t, id, e.GatewayRef, "keyed by the transaction")
				assert.Equal(t, id, e.GatewayPaymentID, "the transaction is the payment")
				assert.Equal(t, g.Name(), e.Gateway)
				assert.Equal(t, tx["appAccountToken"] != nil, e.Account != "")
			}
			assert.Equal(t, tc.want.entries, got)
			if tc.want.status == "" {
				assert.Empty(t, c.Payments)
				return
			}
			require.Len(t, c.Payments, 1)
			u := c.Payments[0]
			assert.Equal(t, tc.want.status, u.Status)
			assert.Equal(t, id, u.GatewayID)
			assert.Equal(t, c.Entries[0].Amount, u.Amount, "the payment asks for what it charged")
			assert.Equal(t, token, u.Account)
			assert.Equal(t, at, c.Entries[0].OccurredAt, "the charge occurred at purchaseDate")
		})
	}
}

func TestAccountForToken(t *testing.T) {
	s := newSigner(t, appstore.Production)
	charge := func(token any) *payments.WebhookRequest {
		return s.request(s.notification("ONE_TIME_CHARGE", "", time.Now(), s.transaction(newTransactionID(), time.Now(), map[string]any{"appAccountToken": token}), nil))
	}
	account := func(t *testing.T, g *appstore.Gateway, req *payments.WebhookRequest) string {
		c, err := g.ParseWebhook(t.Context(), req)
		require.NoError(t, err)
		require.Len(t, c.Entries, 1)
		return c.Entries[0].Account
	}
	t.Run("the token itself, lower case", func(t *testing.T) {
		assert.Equal(t, "9a0b7c4e-2d1f-4e3a-8b6c-5d4e3f2a1b0c", account(t, newGateway(t), charge("9A0B7C4E-2D1F-4E3A-8B6C-5D4E3F2A1B0C")))
	})
	t.Run("not a UUID: no account", func(t *testing.T) {
		for _, token := range []string{"user-42", "9a0b7c4e2d1f4e3a8b6c5d4e3f2a1b0c", "9a0b7c4e-2d1f-4e3a-8b6c-5d4e3f2a1b0g"} {
			assert.Empty(t, account(t, newGateway(t), charge(token)), token)
		}
	})
	t.Run("mapped by the host", func(t *testing.T) {
		users := map[string]string{"9a0b7c4e-2d1f-4e3a-8b6c-5d4e3f2a1b0c": "user-42"}
		g := newGateway(t, func(c *appstore.Config) {
			c.AccountForToken = func(_ context.Context, token string) (string, error) { return users[token], nil }
		})
		assert.Equal(t, "user-42", account(t, g, charge("9a0b7c4e-2d1f-4e3a-8b6c-5d4e3f2a1b0c")))
		assert.Empty(t, account(t, g, charge(newUUID(t))), "a token the host does not know")
	})
	t.Run("the host's failure fails the notification, for Apple to retry", func(t *testing.T) {
		down := errors.New("users database down")
		g := newGateway(t, func(c *appstore.Config) {
			c.AccountForToken = func(context.Context, string) (string, error) { return "", down }
		})
		_, err := g.ParseWebhook(t.Context(), charge(newUUID(t)))
		assert.ErrorIs(t, err, down)
		assert.NotErrorIs(t, err, payments.ErrInvalidInput)
		assert.NotErrorIs(t, err, payments.ErrUnauthenticated)
	})
}

func TestRefundedAmount(t *testing.T) {
	s := newSigner(t, appstore.Production)
	reversed := func(id string) *payments.WebhookRequest {
		return s.request(s.notification("REFUND_REVERSED", "", time.Now(), s.transaction(id, time.Now(), map[string]any{"appAccountToken": newUUID(t)}), nil))
	}
	hook := func(m payments.Money, err error) func(*appstore.Config) {
		return func(c *appstore.Config) {
			c.RefundedAmount = func(context.Context, string) (payments.Money, error) { return m, err }
		}
	}
	id := newTransactionID()
	c, err := newGateway(t, hook(money(t, "5.50", "USD"), nil)).ParseWebhook(t.Context(), reversed(id))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, money(t, "5.50", "USD"), c.Entries[0].Amount)
	assert.Equal(t, payments.KindRefundReversal, c.Entries[0].Kind)

	c, err = newGateway(t, hook(payments.Money{Currency: "USD"}, nil)).ParseWebhook(t.Context(), reversed(id))
	require.NoError(t, err)
	assert.True(t, c.Empty(), "nothing refunded, nothing reversed")

	for _, wrong := range []payments.Money{money(t, "5.50", "EUR"), money(t, "11.00", "USD"), money(t, "-1.00", "USD")} {
		_, err = newGateway(t, hook(wrong, nil)).ParseWebhook(t.Context(), reversed(id))
		assert.ErrorIs(t, err, payments.ErrInvalidInput, wrong.String())
	}
	down := errors.New("ledger down")
	_, err = newGateway(t, hook(payments.Money{}, down)).ParseWebhook(t.Context(), reversed(id))
	assert.ErrorIs(t, err, down)
	assert.True(t, strings.HasPrefix(err.Error(), "appstore: "))
}
