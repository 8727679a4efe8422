package appstore

import (
	"encoding/json"
	"fmt"
	"strings"

	iap "github.com/awa/go-iap/appstore"
	"github.com/awa/go-iap/appstore/api"

	"github.com/payrail/payments"
)

// Notification is a verified App Store Server Notification V2, decoded
// (responseBodyV2DecodedPayload,
// https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2decodedpayload).
// go-iap's SubscriptionNotificationV2DecodedPayload is not used: it reads
// summary.storefrontCountryCodes as a string, where Apple sends an array,
// and lacks consumptionRequestReason.
type Notification struct {
	NotificationType iap.NotificationTypeV2 `json:"notificationType"`
	Subtype          iap.SubtypeV2          `json:"subtype,omitempty"`
	NotificationUUID string                 `json:"notificationUUID"`
	Version          string                 `json:"version,omitempty"`
	// SignedDate is when Apple signed the notification, in milliseconds.
	SignedDate            int64                  `json:"signedDate,omitempty"`
	Data                  *NotificationData      `json:"data,omitempty"`
	Summary               *NotificationSummary   `json:"summary,omitempty"`
	ExternalPurchaseToken *ExternalPurchaseToken `json:"externalPurchaseToken,omitempty"`
	AppData               *AppData               `json:"appData,omitempty"`

	// Transaction and RenewalInfo are Data's signedTransactionInfo and
	// signedRenewalInfo, verified and decoded; nil when absent.
	Transaction *Transaction `json:"-"`
	RenewalInfo *RenewalInfo `json:"-"`
}

// NotificationData is a notification's app and purchase data
// (https://developer.apple.com/documentation/appstoreservernotifications/data).
type NotificationData struct {
	AppAppleID            int64       `json:"appAppleId,omitempty"`
	BundleID              string      `json:"bundleId"`
	BundleVersion         string      `json:"bundleVersion,omitempty"`
	Environment           Environment `json:"environment"`
	SignedTransactionInfo string      `json:"signedTransactionInfo,omitempty"`
	SignedRenewalInfo     string      `json:"signedRenewalInfo,omitempty"`
	// Status is the auto-renewable subscription's status (1 active, 2
	// expired, 3 billing retry, 4 grace period, 5 revoked).
	Status int32 `json:"status,omitempty"`
	// ConsumptionRequestReason is why the customer asked for a refund, in
	// a CONSUMPTION_REQUEST.
	ConsumptionRequestReason string `json:"consumptionRequestReason,omitempty"`
}

// NotificationSummary is the summary of a mass renewal-date extension
// (https://developer.apple.com/documentation/appstoreservernotifications/summary).
type NotificationSummary struct {
	RequestIdentifier      string      `json:"requestIdentifier"`
	Environment            Environment `json:"environment"`
	AppAppleID             int64       `json:"appAppleId,omitempty"`
	BundleID               string      `json:"bundleId"`
	ProductID              string      `json:"productId"`
	StorefrontCountryCodes []string    `json:"storefrontCountryCodes,omitempty"`
	FailedCount            int64       `json:"failedCount"`
	SucceededCount         int64       `json:"succeededCount"`
}

// ExternalPurchaseToken is the token of an EXTERNAL_PURCHASE_TOKEN
// notification
// (https://developer.apple.com/documentation/appstoreservernotifications/externalpurchasetoken).
type ExternalPurchaseToken struct {
	ExternalPurchaseID string `json:"externalPurchaseId"`
	TokenCreationDate  int64  `json:"tokenCreationDate"`
	AppAppleID         int64  `json:"appAppleId,omitempty"`
	BundleID           string `json:"bundleId"`
}

// AppData is the app data of notifications about the app itself
// (https://developer.apple.com/documentation/appstoreservernotifications/appdata).
type AppData struct {
	AppAppleID               int64       `json:"appAppleId,omitempty"`
	BundleID                 string      `json:"bundleId"`
	Environment              Environment `json:"environment"`
	SignedAppTransactionInfo string      `json:"signedAppTransactionInfo,omitempty"`
}

// Transaction is a verified, decoded signed transaction
// (https://developer.apple.com/documentation/appstoreserverapi/jwstransactiondecodedpayload):
// go-iap's type, plus whether the payload carries a price at all.
type Transaction struct {
	api.JWSTransaction
	// HasPrice reports whether the payload carries price: go-iap's Price
	// reads 0 both for a free transaction (a trial) and for one Apple
	// signed before it added the field.
	HasPrice bool `json:"-"`
}

// RenewalInfo is a verified, decoded signed renewal info
// (https://developer.apple.com/documentation/appstoreserverapi/jwsrenewalinfodecodedpayload).
type RenewalInfo = api.JWSRenewalInfoDecodedPayload

// decodeNotification verifies and decodes a signedPayload, with its
// transaction and renewal info, and checks them against the Gateway's app
// and environment as Apple's verifyAndDecodeNotification does.
func (g *Gateway) decodeNotification(signedPayload string) (*Notification, error) {
	payload, err := g.verifier.verify("notification", signedPayload)
	if err != nil {
		return nil, err
	}
	n := &Notification{}
	if err := json.Unmarshal(payload, n); err != nil {
		return nil, fmt.Errorf("appstore: verified notification cannot be decoded: %v: %w", err, payments.ErrInvalidInput)
	}
	bundleID, appAppleID, env := n.identity()
	if err := g.checkApp("notification", bundleID, appAppleID, true); err != nil {
		return nil, err
	}
	if err := g.checkEnvironment("notification", env); err != nil {
		return nil, err
	}
	if n.Data == nil {
		return n, nil
	}
	if s := n.Data.SignedTransactionInfo; s != "" {
		if n.Transaction, err = g.decodeTransaction(s); err != nil {
			return nil, err
		}
	}
	if s := n.Data.SignedRenewalInfo; s != "" {
		if n.RenewalInfo, err = g.decodeRenewalInfo(s); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// identity is the app and environment a notification is for, read from
// whichever of data, summary, externalPurchaseToken and appData it carries,
// in that order, as Apple's libraries read it. An external purchase token
// is from the sandbox when its id starts with SANDBOX.
func (n *Notification) identity() (bundleID string, appAppleID int64, env Environment) {
	switch {
	case n.Data != nil:
		return n.Data.BundleID, n.Data.AppAppleID, n.Data.Environment
	case n.Summary != nil:
		return n.Summary.BundleID, n.Summary.AppAppleID, n.Summary.Environment
	case n.ExternalPurchaseToken != nil:
		t := n.ExternalPurchaseToken
		env = Production
		if strings.HasPrefix(t.ExternalPurchaseID, "SANDBOX") {
			env = Sandbox
		}
		return t.BundleID, t.AppAppleID, env
	case n.AppData != nil:
		return n.AppData.BundleID, n.AppData.AppAppleID, n.AppData.Environment
	}
	return "", 0, ""
}

// decodeTransaction verifies and decodes a signed transaction and checks
// its bundle id and environment (a transaction names no app Apple id).
func (g *Gateway) decodeTransaction(signed string) (*Transaction, error) {
	payload, err := g.verifier.verify("signed transaction", signed)
	if err != nil {
		return nil, err
	}
	tx := &Transaction{}
	var price struct {
		Price *json.RawMessage `json:"price"`
	}
	if err := json.Unmarshal(payload, tx); err != nil {
		return nil, fmt.Errorf("appstore: verified transaction cannot be decoded: %v: %w", err, payments.ErrInvalidInput)
	}
	if err := json.Unmarshal(payload, &price); err != nil {
		return nil, fmt.Errorf("appstore: verified transaction cannot be decoded: %v: %w", err, payments.ErrInvalidInput)
	}
	tx.HasPrice = price.Price != nil && string(*price.Price) != "null"
	if err := g.checkApp("transaction", tx.BundleID, 0, false); err != nil {
		return nil, err
	}
	if err := g.checkEnvironment("transaction", tx.Environment); err != nil {
		return nil, err
	}
	return tx, nil
}

// decodeRenewalInfo verifies and decodes signed renewal info and checks
// its environment (renewal info names no app).
func (g *Gateway) decodeRenewalInfo(signed string) (*RenewalInfo, error) {
	payload, err := g.verifier.verify("signed renewal info", signed)
	if err != nil {
		return nil, err
	}
	info := &RenewalInfo{}
	if err := json.Unmarshal(payload, info); err != nil {
		return nil, fmt.Errorf("appstore: verified renewal info cannot be decoded: %v: %w", err, payments.ErrInvalidInput)
	}
	if err := g.checkEnvironment("renewal info", info.Environment); err != nil {
		return nil, err
	}
	return info, nil
}

// checkApp refuses a payload of another app: another bundle id or, when
// the payload names one and the Gateway is in Production, another app
// Apple id.
func (g *Gateway) checkApp(what, bundleID string, appAppleID int64, namesAppleID bool) error {
	if bundleID != g.cfg.BundleID {
		return fmt.Errorf("appstore: %s for bundle %q, not %q: %w: %w", what, bundleID, g.cfg.BundleID, ErrWrongApp, payments.ErrUnauthenticated)
	}
	if namesAppleID && g.cfg.Environment == Production && appAppleID != g.cfg.AppAppleID {
		return fmt.Errorf("appstore: %s for app %d, not %d: %w: %w", what, appAppleID, g.cfg.AppAppleID, ErrWrongApp, payments.ErrUnauthenticated)
	}
	return nil
}

func (g *Gateway) checkEnvironment(what string, env Environment) error {
	if env != g.cfg.Environment {
		return fmt.Errorf("appstore: %s from environment %q, not %s: %w: %w", what, env, g.cfg.Environment, ErrWrongEnvironment, payments.ErrUnauthenticated)
	}
	return nil
}
