// Package gate runs a hosted payment gate for merchants over a
// payments.Service: a merchant's server calls the init-payment API with its
// token, sends its customer to the gate's wrapper URL, the gate hands the
// customer to the chosen gateway's hosted page, follows the payment's status
// in the ledger when the customer comes back, and posts the outcome, signed
// per Standard Webhooks, to the merchant's postbackUrl.
//
// The host owns the mux, the server and the Service: it constructs a Gate
// with New, mounts Gate.Handler (and the webhook package's handlers for the
// gateways), runs Gate.Run next to Service.Run so that postbacks are
// delivered, and registers Gate.Close with its server's shutdown.
//
// The return pages follow the payment's live status through package
// stream, mounted inside the handler; merchants' admins read reports and
// exports with their token (DailyTotals, Transactions), and developers an
// integration page rendered from the OpenAPI document. Merchants and
// records are kept by a MerchantStore and a RecordStore: in memory here,
// in SQL in gate/gatesqlite and gate/gatepg, each checked by the
// conformance suite gate/gatetest.
//
// What the customer's browser says never counts as proof of payment: the
// return pages and postbacks report only the status the ledger holds, which
// only a verified gateway notification moves.
package gate
