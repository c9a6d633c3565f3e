// Inside WeChat: configure the JS-SDK with the server's signature so a shared link shows the
// page's title, photo and price. Loaded only when the page was opened in WeChat.
(function () {
  "use strict";
  var tag = document.getElementById("wx-share");
  if (!tag || typeof window.wx === "undefined") return;
  var config = JSON.parse(tag.getAttribute("data-config"));
  var share = JSON.parse(tag.getAttribute("data-share"));
  window.wx.config({
    debug: false,
    appId: config.appId,
    timestamp: config.timestamp,
    nonceStr: config.nonceStr,
    signature: config.signature,
    jsApiList: ["updateAppMessageShareData", "updateTimelineShareData"]
  });
  window.wx.ready(function () {
    window.wx.updateAppMessageShareData(share);
    window.wx.updateTimelineShareData({ title: share.title, link: share.link, imgUrl: share.imgUrl });
  });
})();
