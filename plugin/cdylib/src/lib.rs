//! The Office 365 integration ([`office365::Office365`]) exported as a plugin: the
//! root module the host's loader looks up in `libatrs_office365.so`.

atrs_host_sdk::export_plugin!(office365::Office365);
