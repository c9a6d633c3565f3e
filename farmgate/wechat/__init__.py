"""A WeChat official account (公众号): the buyer's openid by silent OAuth, JSAPI payment's
payer, JS-SDK share cards and template messages. ``simulator`` stands in for WeChat's servers."""
