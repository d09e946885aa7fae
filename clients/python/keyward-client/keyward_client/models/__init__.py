"""Contains all the data models used in inputs/outputs"""

from .accept_invitation import AcceptInvitation
from .audit_event_view import AuditEventView
from .audit_event_view_detail_type_0 import AuditEventViewDetailType0
from .create_key import CreateKey
from .create_key_meta_type_0 import CreateKeyMetaType0
from .create_service_account import CreateServiceAccount
from .create_service_account_meta_type_0 import CreateServiceAccountMetaType0
from .create_webhook import CreateWebhook
from .created_key_view import CreatedKeyView
from .created_key_view_meta_type_0 import CreatedKeyViewMetaType0
from .created_webhook_view import CreatedWebhookView
from .delivery_view import DeliveryView
from .health import Health
from .invitation_list import InvitationList
from .invitation_view import InvitationView
from .invite_user import InviteUser
from .key_view import KeyView
from .key_view_meta_type_0 import KeyViewMetaType0
from .login import Login
from .o_auth_error_body import OAuthErrorBody
from .org_list import OrgList
from .org_view import OrgView
from .page_view_audit_event_view import PageViewAuditEventView
from .page_view_audit_event_view_items_item import PageViewAuditEventViewItemsItem
from .page_view_audit_event_view_items_item_detail_type_0 import PageViewAuditEventViewItemsItemDetailType0
from .page_view_delivery_view import PageViewDeliveryView
from .page_view_delivery_view_items_item import PageViewDeliveryViewItemsItem
from .page_view_service_account_view import PageViewServiceAccountView
from .page_view_service_account_view_items_item import PageViewServiceAccountViewItemsItem
from .page_view_service_account_view_items_item_meta_type_0 import PageViewServiceAccountViewItemsItemMetaType0
from .page_view_unused_key_view import PageViewUnusedKeyView
from .page_view_unused_key_view_items_item import PageViewUnusedKeyViewItemsItem
from .page_view_user_view import PageViewUserView
from .page_view_user_view_items_item import PageViewUserViewItemsItem
from .page_view_webhook_view import PageViewWebhookView
from .page_view_webhook_view_items_item import PageViewWebhookViewItemsItem
from .problem import Problem
from .rate_limit_count import RateLimitCount
from .rate_limit_view import RateLimitView
from .reported_token import ReportedToken
from .revoke_secrets import RevokeSecrets
from .role import Role
from .rotate_key import RotateKey
from .server_metadata import ServerMetadata
from .service_account_view import ServiceAccountView
from .service_account_view_meta_type_0 import ServiceAccountViewMetaType0
from .session_view import SessionView
from .set_password import SetPassword
from .setup import Setup
from .token_feedback import TokenFeedback
from .token_request import TokenRequest
from .token_response import TokenResponse
from .unused_key_view import UnusedKeyView
from .update_key import UpdateKey
from .update_key_meta_type_0 import UpdateKeyMetaType0
from .update_org import UpdateOrg
from .update_service_account import UpdateServiceAccount
from .update_service_account_meta_type_0 import UpdateServiceAccountMetaType0
from .update_user import UpdateUser
from .update_webhook import UpdateWebhook
from .user_view import UserView
from .verify_view import VerifyView
from .verify_view_meta_type_0 import VerifyViewMetaType0
from .webhook_secret_view import WebhookSecretView
from .webhook_view import WebhookView
from .who_am_i import WhoAmI

__all__ = (
    "AcceptInvitation",
    "AuditEventView",
    "AuditEventViewDetailType0",
    "CreatedKeyView",
    "CreatedKeyViewMetaType0",
    "CreatedWebhookView",
    "CreateKey",
    "CreateKeyMetaType0",
    "CreateServiceAccount",
    "CreateServiceAccountMetaType0",
    "CreateWebhook",
    "DeliveryView",
    "Health",
    "InvitationList",
    "InvitationView",
    "InviteUser",
    "KeyView",
    "KeyViewMetaType0",
    "Login",
    "OAuthErrorBody",
    "OrgList",
    "OrgView",
    "PageViewAuditEventView",
    "PageViewAuditEventViewItemsItem",
    "PageViewAuditEventViewItemsItemDetailType0",
    "PageViewDeliveryView",
    "PageViewDeliveryViewItemsItem",
    "PageViewServiceAccountView",
    "PageViewServiceAccountViewItemsItem",
    "PageViewServiceAccountViewItemsItemMetaType0",
    "PageViewUnusedKeyView",
    "PageViewUnusedKeyViewItemsItem",
    "PageViewUserView",
    "PageViewUserViewItemsItem",
    "PageViewWebhookView",
    "PageViewWebhookViewItemsItem",
    "Problem",
    "RateLimitCount",
    "RateLimitView",
    "ReportedToken",
    "RevokeSecrets",
    "Role",
    "RotateKey",
    "ServerMetadata",
    "ServiceAccountView",
    "ServiceAccountViewMetaType0",
    "SessionView",
    "SetPassword",
    "Setup",
    "TokenFeedback",
    "TokenRequest",
    "TokenResponse",
    "UnusedKeyView",
    "UpdateKey",
    "UpdateKeyMetaType0",
    "UpdateOrg",
    "UpdateServiceAccount",
    "UpdateServiceAccountMetaType0",
    "UpdateUser",
    "UpdateWebhook",
    "UserView",
    "VerifyView",
    "VerifyViewMetaType0",
    "WebhookSecretView",
    "WebhookView",
    "WhoAmI",
)
