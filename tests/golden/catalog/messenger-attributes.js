// Generated from the participant attribute catalog (participant_attributes.yaml). Do not edit: change the catalog and
// regenerate (`make plan`). Catalog digest: cbec843147f42815
//
// For the web team: call genesysIdentity.setCustomerContext({...}) once the Genesys Messenger has loaded.
// It checks every value against the catalog (name, type, format, length) and sends them with the
// Messenger's Database.set command; they reach the inbound message flow as participant data Context.<name>.
// Values set here are claims made by the page, never proof of identity.
(function (root) {
  "use strict";
  var ATTRIBUTES = {
    "customerEmail": {
      "format": "email",
      "maxLength": 254,
      "type": "string"
    },
    "customerPhone": {
      "format": "e164",
      "maxLength": 32,
      "type": "string"
    },
    "customerTier": {
      "maxLength": 32,
      "type": "string"
    },
    "lastWebTopic": {
      "maxLength": 100,
      "type": "string"
    },
    "webSessionId": {
      "maxLength": 128,
      "type": "string"
    }
  };
  var FORMATS = {
    e164: /^\+[1-9][0-9]{6,14}$/,
    email: /^[^\s@]+@[^\s@]+\.[^\s@]+$/,
    uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
    datetime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/
  };

  function check(name, value) {
    var spec = ATTRIBUTES[name];
    if (!spec) {
      throw new Error("unknown participant attribute '" + name + "' (names are case-sensitive)");
    }
    if (spec.type === "integer" && !(typeof value === "number" && Math.floor(value) === value)) {
      throw new Error("participant attribute '" + name + "' must be an integer");
    }
    if (spec.type === "boolean" && typeof value !== "boolean") {
      throw new Error("participant attribute '" + name + "' must be true or false");
    }
    if (spec.type === "string" && typeof value !== "string") {
      throw new Error("participant attribute '" + name + "' must be a string");
    }
    var text = String(value);
    if (text.length > spec.maxLength) {
      throw new Error("participant attribute '" + name + "' is longer than " + spec.maxLength + " characters");
    }
    if (spec.format && !FORMATS[spec.format].test(text)) {
      throw new Error("participant attribute '" + name + "' is not a valid " + spec.format + " value");
    }
    return text;
  }

  function setCustomerContext(values) {
    var customAttributes = {};
    Object.keys(values).forEach(function (name) {
      customAttributes[name] = check(name, values[name]);
    });
    root.Genesys("command", "Database.set", { messaging: { customAttributes: customAttributes } });
    return customAttributes;
  }

  root.genesysIdentity = { setCustomerContext: setCustomerContext, attributes: ATTRIBUTES };
})(typeof window !== "undefined" ? window : globalThis);
