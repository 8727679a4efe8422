package appstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/awa/go-iap/appstore/api"

	"github.com/payrail/payments"
)

// apiClient looks transactions up with the App Store Server API through
// go-iap's StoreClient.
type apiClient struct {
	store api.StoreConfig
	hosts map[Environment]string
	http  *http.Client
}

// maxTransactionIDLen bounds a client-reported transaction id; Apple's are
// numeric strings of about sixteen digits.
const maxTransactionIDLen = 64

// VerifyPurchase implements payments.PurchaseVerifier: it confirms a
// purchase the app reports and returns what it moved, as a notification of
// the purchase would, under the same keys, so that a purchase reported by
// the app and notified by Apple is recorded once.
//
// req.Token is the transaction's transactionId, or the signed transaction
// itself (StoreKit's Transaction.jwsRepresentation). A signed transaction
// is verified as a notification is. With API credentials the transaction
// is then looked up with Get Transaction Info
// (https://developer.apple.com/documentation/appstoreserverapi/get-transaction-info),
// in production first and in the sandbox when production answers that it
// does not know the transaction (TransactionIdNotFoundError, 4040010),
// as Apple recommends, and Apple's answer — current, so a refund since is
// in it — is verified and recorded. Without credentials a signed
// transaction is recorded as verified and a bare id cannot be confirmed.
//
// A transaction of the other environment than the Gateway's fails with
// ErrWrongEnvironment (and payments.ErrUnauthenticated): a host that
// takes both sends it to its other Gateway. A req.ProductID other than the
// transaction's is payments.ErrInvalidInput, a transaction Apple knows in
// neither environment payments.ErrNotFound. A refunded transaction records
// its charge and its refund; a free or family-shared one records nothing.
// The Service credits req.Account with what has no account of its own; a
// transaction whose appAccountToken maps to another account is
// payments.ErrConflict.
func (g *Gateway) VerifyPurchase(ctx context.Context, req payments.PurchaseRequest) (*payments.Changes, error) {
	token := strings.TrimSpace(req.Token)
	var tx *Transaction
	id := token
	if strings.Count(token, ".") == 2 {
		signed, err := g.decodeTransaction(token)
		if err != nil {
			return nil, err
		}
		tx, id = signed, signed.TransactionID
	}
	if !isTransactionID(id) {
		return nil, fmt.Errorf("appstore: purchase token is neither a transaction id nor a signed transaction: %w", payments.ErrInvalidInput)
	}
	switch {
	case g.api != nil:
		looked, err := g.lookUp(ctx, id)
		if err != nil {
			return nil, err
		}
		tx = looked
	case tx == nil:
		return nil, fmt.Errorf("appstore: transaction %s cannot be confirmed without App Store Server API credentials (Config.IssuerID, KeyID, PrivateKey); report the signed transaction: %w",
			id, payments.ErrNotSupported)
	}
	if req.ProductID != "" && req.ProductID != tx.ProductID {
		return nil, fmt.Errorf("appstore: transaction %s is of product %q, not %q: %w", id, tx.ProductID, req.ProductID, payments.ErrInvalidInput)
	}
	c := &payments.Changes{EventID: id, EventType: "purchase"}
	return result(c, g.purchase(ctx, tx, c))
}

// isTransactionID accepts the numeric ids Apple issues, which keeps a
// client's token from reaching the API's URL as anything but a number.
func isTransactionID(s string) bool {
	if s == "" || len(s) > maxTransactionIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// lookUp gets the transaction from production, or from the sandbox when
// production does not know it, and verifies Apple's answer.
func (g *Gateway) lookUp(ctx context.Context, id string) (*Transaction, error) {
	var signed string
	var err error
	for _, env := range []Environment{Production, Sandbox} {
		signed, err = g.api.transaction(ctx, env, id)
		if !errors.Is(err, api.TransactionIdNotFoundError) {
			g.log.DebugContext(ctx, "appstore: transaction looked up", "gateway", g.cfg.Name,
				"transaction", id, "environment", string(env), "found", err == nil)
			break
		}
	}
	switch {
	case errors.Is(err, api.TransactionIdNotFoundError):
		return nil, fmt.Errorf("appstore: transaction %s: Apple knows it in neither environment: %w", id, payments.ErrNotFound)
	case errors.Is(err, api.InvalidTransactionIdError):
		return nil, fmt.Errorf("appstore: transaction %s: %v: %w", id, err, payments.ErrInvalidInput)
	case err != nil:
		return nil, fmt.Errorf("appstore: look up transaction %s: %w", id, err)
	}
	tx, err := g.decodeTransaction(signed)
	if err != nil {
		return nil, err
	}
	if tx.TransactionID != id {
		return nil, fmt.Errorf("appstore: asked for transaction %s, Apple answered with %s: %w", id, tx.TransactionID, payments.ErrUnauthenticated)
	}
	return tx, nil
}

// transaction calls Get Transaction Info in one environment. Each call
// makes a client of its own, and so a JWT of its own, as Apple asks:
// "generate a new signed JWT for each new request"
// (https://developer.apple.com/documentation/appstoreserverapi/generating-json-web-tokens-for-api-requests).
func (a *apiClient) transaction(ctx context.Context, env Environment, id string) (string, error) {
	cfg := a.store
	cfg.Sandbox = env == Sandbox
	cfg.HostDebug = a.hosts[env] // go-iap's way to name the host
	res, err := api.NewStoreClientWithHTTPClient(&cfg, a.http).GetTransactionInfo(ctx, id)
	if err != nil {
		return "", err
	}
	if res == nil || res.SignedTransactionInfo == "" {
		return "", fmt.Errorf("%s answered without signedTransactionInfo", env)
	}
	return res.SignedTransactionInfo, nil
}
