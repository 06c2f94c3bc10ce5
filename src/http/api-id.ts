export const API_ID = "plinth"
